import { readFileSync } from "node:fs";
import type * as tf from "@tensorflow/tfjs";
import { FormatError } from "../errors.js";
import { VERSION } from "../version.js";
import type { AnyModule, HostTensor, LoadReport } from "./module.js";
import { parseSafetensors, writeSafetensors, type TensorEntry } from "./safetensors.js";
import { readTorchCheckpoint } from "./torch-format.js";

/** An opened checkpoint: its format, tensors (decoded on demand) and metadata. */
export interface Checkpoint {
  format: "safetensors" | "pytorch";
  tensors: TensorEntry[];
  metadata: Record<string, string>;
}

/**
 * Opens a checkpoint by its magic bytes: a zip archive (`PK\x03\x04`) is a
 * PyTorch `.pt/.pth/.bin` file, anything else is parsed as safetensors.
 * Tensor names are mapped to neurocode names (`torchToNeurocodeName`).
 */
export function openCheckpoint(path: string): Checkpoint {
  const bytes = new Uint8Array(readFileSync(path));
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  // Pre-1.6 torch.save: a bare pickle starting PROTO 2, LONG1 magic number. (A lone 0x80 first
  // byte is not enough: it is also the low byte of many safetensors header lengths.)
  const legacyTorch = bytes[0] === 0x80 && bytes[1] === 0x02 && bytes[2] === 0x8a && bytes[3] === 0x0a;
  const parsed = isZip || legacyTorch ? readTorchCheckpoint(bytes, path) : parseSafetensors(bytes, path);
  const tensors = parsed.tensors.map((t) => ({ ...t, name: torchToNeurocodeName(t.name) }));
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new FormatError({ path, field: `tensors.${t.name}` }, "two tensors map to the same name");
    seen.add(t.name);
  }
  return { format: isZip || legacyTorch ? "pytorch" : "safetensors", tensors, metadata: parsed.metadata };
}

/**
 * The one place where PyTorch state-dict names become neurocode names.
 * neurocode keeps PyTorch's tensor layouts (Linear weight [out, in], Conv1d
 * [out, in/groups, K], ConvTranspose1d [in, out/groups, K], LSTM gates i,f,g,o),
 * so only names change: the `torch.nn.utils.parametrizations.weight_norm`
 * form `X.parametrizations.weight.original0/1` becomes the classic
 * `X.weight_g` / `X.weight_v` that neurocode's weight-normed convolutions use.
 */
export function torchToNeurocodeName(name: string): string {
  return name.replace(/\.parametrizations\.weight\.original0$/, ".weight_g").replace(/\.parametrizations\.weight\.original1$/, ".weight_v");
}

/** Reads every tensor of a checkpoint into host memory, keyed by (mapped) name. */
export function readStateDict(path: string): Map<string, HostTensor> {
  return new Map(openCheckpoint(path).tensors.map((t) => [t.name, t.read()]));
}

/**
 * Loads a checkpoint (safetensors or PyTorch) into `module` by name. With
 * `strict` (default) any missing, unexpected or mis-shaped name throws a
 * `StateDictError` listing all of them; otherwise the report is returned.
 */
export function loadCheckpoint(module: AnyModule, path: string, opts: { strict?: boolean } = {}): LoadReport {
  return module.loadStateDict(readStateDict(path), opts);
}

/** Metadata stored with a neurocode checkpoint. */
export interface CheckpointInfo {
  /** Model name, e.g. `brainomni-tokenizer`. */
  modelName?: string;
  /** Model configuration (stored as JSON). */
  config?: unknown;
}

/**
 * Saves the module's state dict as safetensors at `path` (atomically) with
 * `__metadata__` = { model, config (JSON), neurocode_version }.
 */
export function saveCheckpoint(module: AnyModule, path: string, info: CheckpointInfo = {}): void {
  writeSafetensors(path, module.stateDict() as Map<string, tf.Tensor>, checkpointMetadata(info));
}

function checkpointMetadata(info: CheckpointInfo): Record<string, string> {
  const meta: Record<string, string> = { format: "pt", neurocode_version: VERSION };
  if (info.modelName) meta.model = info.modelName;
  if (info.config !== undefined) meta.config = JSON.stringify(info.config);
  return meta;
}

/**
 * Converts any readable checkpoint (PyTorch or safetensors) to safetensors,
 * applying the name mapping. Values are kept exactly (float16/bfloat16/float64
 * become float32; int64 becomes int32 and must fit).
 */
export function convertCheckpoint(inPath: string, outPath: string, info: CheckpointInfo = {}): number {
  const ck = openCheckpoint(inPath);
  const tensors = new Map(ck.tensors.map((t) => [t.name, t.read()]));
  writeSafetensors(outPath, tensors, { ...checkpointMetadata(info), source: inPath.split(/[\\/]/).pop() ?? inPath });
  return tensors.size;
}
