/**
 * Pretrained encoders that `neurocode finetune` can start from, chosen by the
 * model name a checkpoint's metadata carries, and the checkpoints of the
 * fine-tuned classifiers (encoder + head) that `neurocode evaluate` reads.
 */
import { ConfigError, FormatError } from "../errors.js";
import { readSafetensors, writeSafetensors } from "../nn/safetensors.js";
import type { ChannelInfo } from "../recording/types.js";
import { VERSION } from "../version.js";
import { BrainTokenizer } from "../models/brainomni/tokenizer.js";
import { loadTokenizer } from "../models/brainomni/checkpoint.js";
import { isOmniConfig, parseOfficialConfig, toOfficialConfig } from "../models/brainomni/config.js";
import { channelSensorVectors, normalizeWindowsForTokenizer, tokenizerFeatureEncoder } from "../models/brainomni/features.js";
import { BRAINOMNI_SFREQ } from "../models/brainomni/preprocess.js";
import { EncoderHead, type FeatureEncoder } from "./finetune.js";

/** An encoder ready for windows of given channels, and how windows must be prepared for it. */
export interface PreparedEncoder {
  encoder: FeatureEncoder;
  /** Model name (checkpoint metadata `model`, e.g. `braintokenizer`). */
  model: string;
  /** Architecture configuration as stored in checkpoints. */
  config: Record<string, unknown>;
  /** Sampling rate the encoder expects (Hz). */
  sfreq: number;
  /** Normalises `[n, C, T]` windows in place as the encoder expects. */
  prepare: (x: Float32Array, T: number) => void;
}

const KNOWN = ["braintokenizer"];

function checkWindows(channels: readonly ChannelInfo[], sfreq: number): void {
  if (sfreq !== BRAINOMNI_SFREQ) throw new ConfigError("data", `the BrainOmni tokenizer expects windows at ${BRAINOMNI_SFREQ} Hz, these are at ${sfreq} Hz (resample in the pipeline)`);
  const missing = channels.filter((c) => !c.sensor).map((c) => c.name);
  if (missing.length) throw new ConfigError("data", `the BrainOmni tokenizer needs sensor geometry; channels without it: ${missing.slice(0, 8).join(", ")}`);
}

function wrapTokenizer(tokenizer: BrainTokenizer, channels: readonly ChannelInfo[]): PreparedEncoder {
  return {
    encoder: tokenizerFeatureEncoder(tokenizer, channelSensorVectors(channels)),
    model: "braintokenizer",
    config: toOfficialConfig(tokenizer.cfg),
    sfreq: BRAINOMNI_SFREQ,
    prepare: (x, T) => normalizeWindowsForTokenizer(x, channels, T),
  };
}

function tokenizerConfig(json: string | Record<string, unknown>, where: { path: string; field: string }) {
  const cfg = parseOfficialConfig(json, `${where.path}: ${where.field}`);
  if (isOmniConfig(cfg)) throw new FormatError(where, "a stage-2 BrainOmni config where a tokenizer config was expected");
  return cfg;
}

/**
 * Opens a checkpoint as a feature encoder for windows of `channels` at
 * `sfreq` Hz. With `pretrained: false` the same architecture is built with a
 * fresh initialisation (the baseline that fine-tuning must beat).
 */
export function encoderFromCheckpoint(path: string, channels: readonly ChannelInfo[], sfreq: number, opts: { pretrained?: boolean } = {}): PreparedEncoder {
  const meta = readSafetensors(path).metadata;
  if (meta.model !== "braintokenizer") throw new ConfigError("checkpoint", `${path}: cannot fine-tune from model "${meta.model ?? "(none)"}"; known encoders: ${KNOWN.join(", ")}`);
  checkWindows(channels, sfreq);
  const tokenizer = opts.pretrained === false ? new BrainTokenizer(tokenizerConfig(meta.config ?? "", { path, field: "__metadata__.config" })) : loadTokenizer(path);
  return wrapTokenizer(tokenizer, channels);
}

/** What a fine-tuned classifier checkpoint records besides its weights. */
export interface ClassifierInfo {
  classes: string[];
  channels: ChannelInfo[];
  sfreq: number;
  /** Samples per window. */
  windowSamples: number;
  /** The checkpoint it was fine-tuned from (file name). */
  base?: string;
}

/** Saves a fine-tuned classifier (encoder + head) as safetensors with what `loadClassifier` needs. */
export function saveClassifier(path: string, model: EncoderHead, enc: PreparedEncoder, info: ClassifierInfo): void {
  writeSafetensors(path, model.stateDict(), {
    model: "classifier",
    encoder_model: enc.model,
    encoder_config: JSON.stringify(enc.config),
    classes: JSON.stringify(info.classes),
    channels: JSON.stringify(info.channels),
    sfreq: String(info.sfreq),
    window_samples: String(info.windowSamples),
    ...(info.base ? { base: info.base } : {}),
    neurocode_version: VERSION,
  });
}

/** Loads a classifier written by `saveClassifier` (evaluation mode). */
export function loadClassifier(path: string): { model: EncoderHead; encoder: PreparedEncoder; info: ClassifierInfo } {
  const file = readSafetensors(path);
  const meta = file.metadata;
  if (meta.model !== "classifier") throw new ConfigError("checkpoint", `${path}: not a fine-tuned classifier (model "${meta.model ?? "(none)"}")`);
  if (meta.encoder_model !== "braintokenizer") throw new ConfigError("checkpoint", `${path}: unknown encoder "${meta.encoder_model}"`);
  const parse = <T>(field: string): T => {
    try {
      return JSON.parse(meta[field] ?? "") as T;
    } catch {
      throw new FormatError({ path, field: `__metadata__.${field}` }, "missing or not valid JSON");
    }
  };
  const info: ClassifierInfo = { classes: parse("classes"), channels: parse("channels"), sfreq: Number(meta.sfreq), windowSamples: Number(meta.window_samples), ...(meta.base ? { base: meta.base } : {}) };
  const enc = wrapTokenizer(new BrainTokenizer(tokenizerConfig(parse("encoder_config"), { path, field: "__metadata__.encoder_config" })), info.channels);
  const model = new EncoderHead(enc.encoder, info.classes.length);
  model.loadStateDict(new Map(file.tensors.map((t) => [t.name, t.read()])));
  return { model: model.eval(), encoder: enc, info };
}
