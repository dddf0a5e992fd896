/**
 * The declarative pipeline format (`pipelines/*.yaml`) and its validation.
 * Every error names the key path (`stages[2].bandpass: expected [low, high]`)
 * so a user can find the line to fix.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { ConfigError } from "../errors.js";
import { RECORDING_GLOBS } from "../io/open.js";
import type { LastWindowPolicy } from "../signal/windows.js";

/** Which files of an input folder to read. */
export interface ReadSpec {
  /** Glob patterns relative to the input folder (`**` crosses folders). Default: EDF, BDF and FIF files. */
  include: string[];
  /** Glob patterns to leave out. */
  exclude: string[];
  /** For EDF files whose signals have different rates: the rate (Hz) to keep. */
  rate?: number;
}

export interface WindowSpec {
  /** Window length in seconds. */
  length: number;
  /** Step between window starts in seconds (default: `length`, no overlap). */
  stride: number;
  /**
   * The stretch at the end of a segment shorter than a window: `drop`
   * (default), `align-end` (one more window ending at the segment end,
   * braindecode's `drop_last_window=False`) or `brainomni` (the official loop).
   */
  last: LastWindowPolicy;
  /**
   * Cut windows inside annotations instead of across the whole recording:
   * maps annotation descriptions to labels; annotations not listed are ignored.
   */
  annotations?: Record<string, string>;
}

export type Stage =
  | { kind: "pick"; channels: string[] | string; excludeBads: boolean }
  | { kind: "bandpass"; low: number | null; high: number | null }
  | { kind: "notch"; freqs: number[] }
  | { kind: "resample"; sfreq: number }
  | { kind: "reference"; reference: string }
  | { kind: "window"; window: WindowSpec }
  /** BrainOmni codes of each window (`checkpoint`: a tokenizer; default the bundled demo one). */
  | { kind: "tokenize"; checkpoint?: string }
  /** One feature vector per window from a tokenizer's encoder (mean of its latents). */
  | { kind: "embed"; checkpoint?: string }
  | { kind: "write"; format: "arrow" | "npy" };

export interface Pipeline {
  name: string;
  read: ReadSpec;
  stages: Stage[];
}


const STAGE_KEYS = ["pick", "bandpass", "notch", "resample", "reference", "window", "tokenize", "embed", "write"] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function positive(v: unknown, path: string, what = "a positive number"): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new ConfigError(path, `expected ${what}, got ${JSON.stringify(v)}`);
  return v;
}

function stringList(v: unknown, path: string): string[] {
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) throw new ConfigError(path, `expected a string or a list of strings, got ${JSON.stringify(v)}`);
  return list as string[];
}

function noExtraKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new ConfigError(`${path}.${k}`, `unknown key (allowed: ${allowed.join(", ")})`);
  }
}

function parseStage(raw: unknown, path: string): Stage {
  if (!isRecord(raw)) throw new ConfigError(path, `expected a mapping with one of ${STAGE_KEYS.join(", ")}`);
  const keys = Object.keys(raw).filter((k) => (STAGE_KEYS as readonly string[]).includes(k));
  if (keys.length !== 1) throw new ConfigError(path, `expected exactly one of ${STAGE_KEYS.join(", ")}, got ${Object.keys(raw).join(", ") || "nothing"}`);
  const key = keys[0]!;
  const v = raw[key];
  const at = `${path}.${key}`;
  switch (key) {
    case "pick": {
      noExtraKeys(raw, ["pick", "excludeBads"], path);
      if (raw.excludeBads !== undefined && typeof raw.excludeBads !== "boolean") throw new ConfigError(`${path}.excludeBads`, "expected true or false");
      const channels = typeof v === "string" ? v : stringList(v, at);
      return { kind: "pick", channels, excludeBads: (raw.excludeBads as boolean | undefined) ?? false };
    }
    case "bandpass": {
      noExtraKeys(raw, ["bandpass"], path);
      if (!Array.isArray(v) || v.length !== 2 || v.some((x) => x !== null && (typeof x !== "number" || !(x > 0)))) {
        throw new ConfigError(at, `expected [low, high] in Hz (either may be null), got ${JSON.stringify(v)}`);
      }
      const [low, high] = v as (number | null)[];
      if (low === null && high === null) throw new ConfigError(at, "at least one of low and high must be given");
      if (low !== null && high !== null && low! >= high!) throw new ConfigError(at, `low (${low}) must be below high (${high})`);
      return { kind: "bandpass", low: low ?? null, high: high ?? null };
    }
    case "notch": {
      noExtraKeys(raw, ["notch"], path);
      const freqs = typeof v === "number" ? [v] : v;
      if (!Array.isArray(freqs) || freqs.length === 0) throw new ConfigError(at, `expected a frequency or a list of frequencies in Hz, got ${JSON.stringify(v)}`);
      return { kind: "notch", freqs: freqs.map((f, i) => positive(f, `${at}[${i}]`, "a frequency in Hz")) };
    }
    case "resample":
      noExtraKeys(raw, ["resample"], path);
      return { kind: "resample", sfreq: positive(v, at, "a sampling rate in Hz") };
    case "reference":
      noExtraKeys(raw, ["reference"], path);
      if (typeof v !== "string" || v === "") throw new ConfigError(at, `expected "average", a channel name or "bipolar:NAME", got ${JSON.stringify(v)}`);
      return { kind: "reference", reference: v };
    case "window": {
      noExtraKeys(raw, ["window"], path);
      if (!isRecord(v)) throw new ConfigError(at, "expected a mapping with length (s), optional stride (s), last, annotations");
      noExtraKeys(v, ["length", "stride", "last", "annotations"], at);
      const length = positive(v.length, `${at}.length`, "a window length in seconds");
      const stride = v.stride === undefined ? length : positive(v.stride, `${at}.stride`, "a stride in seconds");
      const last = v.last ?? "drop";
      if (last !== "drop" && last !== "align-end" && last !== "brainomni") {
        throw new ConfigError(`${at}.last`, `expected "drop", "align-end" or "brainomni", got ${JSON.stringify(last)}`);
      }
      let annotations: Record<string, string> | undefined;
      if (v.annotations !== undefined) {
        if (!isRecord(v.annotations) || Object.keys(v.annotations).length === 0) throw new ConfigError(`${at}.annotations`, "expected a mapping from annotation description to label");
        annotations = {};
        for (const [desc, label] of Object.entries(v.annotations)) {
          if (typeof label !== "string" && typeof label !== "number") throw new ConfigError(`${at}.annotations.${desc}`, "expected a label (string or number)");
          annotations[desc] = String(label);
        }
      }
      return { kind: "window", window: { length, stride, last, ...(annotations ? { annotations } : {}) } };
    }
    case "tokenize":
    case "embed": {
      noExtraKeys(raw, [key], path);
      const spec = v ?? {};
      if (!isRecord(spec)) throw new ConfigError(at, "expected a mapping (optionally with checkpoint: PATH), or nothing for the bundled tokenizer");
      noExtraKeys(spec, ["checkpoint"], at);
      if (spec.checkpoint !== undefined && (typeof spec.checkpoint !== "string" || spec.checkpoint === "")) throw new ConfigError(`${at}.checkpoint`, "expected a file path");
      return { kind: key, ...(spec.checkpoint ? { checkpoint: spec.checkpoint as string } : {}) };
    }
    case "write": {
      noExtraKeys(raw, ["write"], path);
      const format = isRecord(v) ? v.format : v;
      if (format !== "arrow" && format !== "npy") throw new ConfigError(`${at}${isRecord(v) ? ".format" : ""}`, `expected "arrow" or "npy", got ${JSON.stringify(format)}`);
      return { kind: "write", format };
    }
  }
  throw new ConfigError(at, "unknown stage");
}

/** Validates a parsed pipeline document. */
export function validatePipeline(doc: unknown, source = "pipeline"): Pipeline {
  if (!isRecord(doc)) throw new ConfigError(source, "expected a mapping with name, read and stages");
  noExtraKeys(doc, ["name", "read", "stages"], source);
  const name = doc.name ?? "pipeline";
  if (typeof name !== "string") throw new ConfigError("name", "expected a string");
  const readRaw = doc.read ?? {};
  if (!isRecord(readRaw)) throw new ConfigError("read", "expected a mapping with include, exclude, rate");
  noExtraKeys(readRaw, ["include", "exclude", "rate"], "read");
  const read: ReadSpec = {
    include: readRaw.include === undefined ? [...RECORDING_GLOBS] : stringList(readRaw.include, "read.include"),
    exclude: readRaw.exclude === undefined ? [] : stringList(readRaw.exclude, "read.exclude"),
    ...(readRaw.rate === undefined ? {} : { rate: positive(readRaw.rate, "read.rate", "a sampling rate in Hz") }),
  };
  if (!Array.isArray(doc.stages) || doc.stages.length === 0) throw new ConfigError("stages", "expected a non-empty list of stages");
  const stages = doc.stages.map((s, i) => parseStage(s, `stages[${i}]`));
  const windowAt = stages.findIndex((s) => s.kind === "window");
  const writeAt = stages.findIndex((s) => s.kind === "write");
  if (writeAt !== stages.length - 1) throw new ConfigError(`stages[${stages.length - 1}]`, "the last stage must be write (and there must be exactly one)");
  if (stages.filter((s) => s.kind === "write").length > 1) throw new ConfigError("stages", "only one write stage is allowed");
  if (stages.filter((s) => s.kind === "window").length > 1) throw new ConfigError("stages", "only one window stage is allowed");
  const modelAt = stages.findIndex((s) => s.kind === "tokenize" || s.kind === "embed");
  if (stages.filter((s) => s.kind === "tokenize" || s.kind === "embed").length > 1) throw new ConfigError("stages", "only one of tokenize / embed is allowed");
  if (modelAt >= 0 && (windowAt < 0 || modelAt !== writeAt - 1)) {
    throw new ConfigError(`stages[${modelAt}]`, `${stages[modelAt]!.kind} must come right after window and before write`);
  }
  if (windowAt >= 0) {
    const after = stages.slice(windowAt + 1, modelAt >= 0 ? modelAt : writeAt);
    if (after.length) throw new ConfigError(`stages[${windowAt + 1}]`, `${after[0]!.kind} must come before window`);
  }
  return { name, read, stages };
}

/** Reads and validates a pipeline YAML file. */
export function loadPipeline(path: string): Pipeline {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(path, `cannot read pipeline file: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const pos = e.linePos?.[0];
      throw new ConfigError(pos ? `${path}:${pos.line}:${pos.col}` : path, e.message.split("\n")[0]!);
    }
    throw e;
  }
  return validatePipeline(doc, path);
}
