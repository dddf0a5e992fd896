import { existsSync, readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, FormatError } from "../../errors.js";
import type { HostTensor, LoadReport } from "../../nn/module.js";
import { StateDictError } from "../../nn/module.js";
import { openCheckpoint } from "../../nn/checkpoint.js";
import { writeSafetensors } from "../../nn/safetensors.js";
import { VERSION } from "../../version.js";
import { isOmniConfig, parseOfficialConfig, toOfficialConfig, type BrainOmniConfig, type BrainTokenizerConfig } from "./config.js";
import { toNeurocodeLayout, withoutPrefix } from "./names.js";
import { BrainOmni, FAITHFUL_QUIRKS, type OmniQuirks } from "./omni.js";
import { EuclideanCodebook } from "./quantizer.js";
import { BrainTokenizer } from "./tokenizer.js";

/** A checkpoint read from disk: its config and its state dict in neurocode layout. */
export interface BrainOmniCheckpoint {
  config: BrainTokenizerConfig | BrainOmniConfig;
  stateDict: Map<string, HostTensor>;
  /** Free-form `__metadata__` of a safetensors file (empty for `.pt`). */
  metadata: Record<string, string>;
}

/**
 * Reads a BrainTokenizer or BrainOmni checkpoint: safetensors, or the released
 * PyTorch `.pt` files (through the engine's reader, `nn/checkpoint.ts`). The
 * config is `__metadata__.config` (official snake_case JSON) or the
 * `model_cfg.json` the release keeps beside each weights file.
 */
export function readCheckpoint(path: string): BrainOmniCheckpoint {
  const ck = openCheckpoint(path);
  const sd = new Map(ck.tensors.map((t) => [t.name, t.read()]));
  const metadata = ck.metadata;
  let cfgJson = metadata.config;
  if (!cfgJson) {
    const side = join(dirname(path), "model_cfg.json");
    if (!existsSync(side)) throw new FormatError({ path, field: "__metadata__.config" }, "no config in the file and no model_cfg.json beside it");
    cfgJson = readFileSync(side, "utf8");
  }
  return { config: parseOfficialConfig(cfgJson, `${path}:config`), stateDict: toNeurocodeLayout(sd), metadata };
}

/** State-dict entries a checkpoint may omit (the official loader uses strict=False). */
const OPTIONAL = [/rope_embedding_layer\.(freqs|rotate)$/, /\._codebook\.(embed_avg|cluster_size|inited)$/];

/**
 * Loads a state dict by official names: unexpected or mis-shaped tensors
 * throw a `StateDictError` listing every name; only deterministic buffers
 * and EMA training statistics may be missing. A codebook whose `inited` flag
 * is missing is marked initialised when its `embed` was loaded (upstream
 * would instead overwrite it by k-means on the first batch).
 */
function loadInto(model: BrainTokenizer | BrainOmni, sd: Map<string, HostTensor>): LoadReport {
  const report = model.loadStateDict(sd, { strict: false });
  const missing = report.missing.filter((n) => !OPTIONAL.some((r) => r.test(n)));
  if (missing.length || report.unexpected.length || report.mismatched.length) {
    throw new StateDictError({ missing, unexpected: report.unexpected, mismatched: report.mismatched });
  }
  for (const n of report.missing) {
    if (!n.endsWith("._codebook.inited") || !sd.has(n.replace(/inited$/, "embed"))) continue;
    const cb = model.namedModules().find(([name]) => `${name}.inited` === n)?.[1];
    if (cb instanceof EuclideanCodebook) tf.tidy(() => cb.inited.assign(tf.ones([1])));
  }
  return report;
}

/** Builds a BrainTokenizer (eval mode) from a tokenizer or BrainOmni checkpoint. */
export function loadTokenizer(path: string): BrainTokenizer {
  const ck = readCheckpoint(path);
  const model = new BrainTokenizer(ck.config);
  const sd = isOmniConfig(ck.config) && [...ck.stateDict.keys()].some((k) => k.startsWith("tokenizer.")) ? withoutPrefix(ck.stateDict, "tokenizer.") : ck.stateDict;
  try {
    loadInto(model, sd);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}

/** Builds a BrainOmni model (eval mode) from a stage-2 checkpoint. */
export function loadOmni(path: string, quirks: OmniQuirks = FAITHFUL_QUIRKS): BrainOmni {
  const ck = readCheckpoint(path);
  if (!isOmniConfig(ck.config)) throw new ConfigError("checkpoint", `${path} holds a tokenizer only (no lm_dim in its config)`);
  const model = new BrainOmni(ck.config, quirks);
  try {
    loadInto(model, ck.stateDict);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}

/**
 * Saves a model as neurocode safetensors: official tensor names, config in
 * `__metadata__.config` (official snake_case keys), plus model kind, neurocode
 * version and any extra metadata (e.g. how it was trained). Written atomically.
 */
export function saveCheckpoint(model: BrainTokenizer | BrainOmni, path: string, extra: Record<string, string> = {}): void {
  const kind = model instanceof BrainOmni ? "brainomni" : "braintokenizer";
  writeSafetensors(path, model.stateDict(), { ...extra, model: kind, config: JSON.stringify(toOfficialConfig(model.cfg)), neurocode_version: VERSION });
}

/**
 * Path of the demonstration tokenizer shipped with the package
 * (`models/brainomni-demo/braintokenizer-demo.safetensors`, see its README).
 * Throws `ConfigError` when the package was installed without it.
 */
export function bundledTokenizerPath(): string {
  // src/models/brainomni and dist/models/brainomni are both three levels below the package root.
  const p = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "models", "brainomni-demo", "braintokenizer-demo.safetensors");
  if (!existsSync(p)) throw new ConfigError("checkpoint", `no checkpoint given and the bundled demonstration tokenizer is missing (${p})`);
  return p;
}
