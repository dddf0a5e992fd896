/**
 * In-memory datasets of fixed-shape samples (windows) with labels, and the
 * deterministic batch order a resumable training loop needs.
 */
import { readArrow } from "../io/arrow.js";
import { readNpy } from "../io/npy.js";
import { Rng } from "../engine/random.js";
import { readFileSync } from "node:fs";
import { asFileAccessError, ConfigError, FormatError, ShapeError } from "../errors.js";
import type { ChannelInfo } from "../recording/types.js";

/** Samples of one shape stored back to back, with one target per sample. */
export interface ArrayDataset {
  /** `[length, ...sampleShape]` values, row-major. */
  x: Float32Array;
  /** Shape of one sample, e.g. `[nChannels, nTimes]`. */
  sampleShape: number[];
  /** Class indices (classification) or values (regression), one per sample. */
  y: Int32Array | Float32Array;
  length: number;
}

/** Builds a dataset after checking that `x` holds `y.length` samples of `sampleShape`. */
export function arrayDataset(x: Float32Array, sampleShape: number[], y: Int32Array | Float32Array): ArrayDataset {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  if (x.length !== y.length * size) throw new ShapeError("dataset x", [y.length, ...sampleShape], [x.length / size, ...sampleShape]);
  return { x, sampleShape, y, length: y.length };
}

/** Samples `indices` of a dataset, copied into one contiguous block. */
export function takeSamples(ds: ArrayDataset, indices: ArrayLike<number>): { x: Float32Array; y: Int32Array | Float32Array } {
  const size = ds.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(indices.length * size);
  const y = ds.y instanceof Int32Array ? new Int32Array(indices.length) : new Float32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    x.set(ds.x.subarray(i * size, (i + 1) * size), k * size);
    y[k] = ds.y[i]!;
  }
  return { x, y };
}

/**
 * The batches of one epoch: a permutation drawn from `seed` and `epoch` alone
 * (not from the global random stream), so a resumed run can rebuild the order
 * of an interrupted epoch. The last batch may be smaller.
 */
export function epochBatches(n: number, batchSize: number, epoch: number, seed: number, shuffle = true): Int32Array[] {
  if (!(batchSize >= 1)) throw new ConfigError("batchSize", `must be at least 1, got ${batchSize}`);
  const order = shuffle ? new Rng(Math.imul(seed ^ 0x5bd1e995, 31) + epoch * 0x9e3779b9).permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
  const out: Int32Array[] = [];
  for (let i = 0; i < n; i += batchSize) out.push(order.subarray(i, Math.min(n, i + batchSize)));
  return out;
}

/**
 * Splits a dataset into train and validation parts with a seeded shuffle
 * (`fraction` of the samples go to validation).
 */
export function splitDataset(ds: ArrayDataset, fraction: number, seed: number): { train: ArrayDataset; validation: ArrayDataset } {
  if (!(fraction > 0 && fraction < 1)) throw new ConfigError("validation fraction", `must be in (0, 1), got ${fraction}`);
  const order = new Rng(seed).permutation(ds.length);
  const nVal = Math.max(1, Math.round(ds.length * fraction));
  const pickAll = (idx: Int32Array) => {
    const { x, y } = takeSamples(ds, idx);
    return arrayDataset(x, ds.sampleShape, y);
  };
  return { validation: pickAll(order.subarray(0, nVal)), train: pickAll(order.subarray(nVal)) };
}

/**
 * Windows from a `.npy` file `[n, ...sampleShape]` (as `neurocode run` writes
 * with `write: npy`, or numpy saves), with one target per window.
 */
export function npyWindowDataset(path: string, y: Int32Array | Float32Array): ArrayDataset {
  const arr = readNpy(path);
  if (arr.shape.length < 2) throw new ShapeError(`${path} windows`, ["n", "..."], arr.shape);
  if (arr.shape[0] !== y.length) throw new ShapeError(`${path}: targets for its windows`, [arr.shape[0]!], [y.length]);
  const x = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data as ArrayLike<number>, Number);
  return arrayDataset(x, arr.shape.slice(1), y);
}

/** Windows loaded from `neurocode run` outputs, with what a model needs to know about them. */
export interface WindowData {
  dataset: ArrayDataset;
  /** Class names, index = label id. */
  classes: string[];
  /** Channels of every window (with sensor geometry when the pipeline had it). */
  channels: ChannelInfo[];
  /** Sampling rate of the windows (Hz). */
  sfreq: number;
}

/**
 * Reads a labels file: CSV with a header naming `file`, `window` and `label`
 * columns (file as in the window tables' `file` column). Keys are `file#window`.
 */
export function readLabelsCsv(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw asFileAccessError(e, path);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const head = (lines[0] ?? "").split(",").map((h) => h.trim().toLowerCase());
  const [fi, wi, li] = ["file", "window", "label"].map((h) => head.indexOf(h));
  if (fi! < 0 || wi! < 0 || li! < 0) throw new FormatError({ path, field: "header", offset: 0 }, `expected a header with file, window and label columns, got "${lines[0] ?? ""}"`);
  const out = new Map<string, string>();
  lines.slice(1).forEach((line, i) => {
    const f = line.split(",").map((x) => x.trim());
    const w = Number(f[wi!]);
    if (f.length !== head.length || !Number.isInteger(w)) throw new FormatError({ path, field: `line ${i + 2}` }, `expected ${head.length} comma-separated fields with an integer window, got "${line}"`);
    out.set(`${f[fi!]}#${w}`, f[li!]!);
  });
  return out;
}

/**
 * Loads windows written by `neurocode run` (Arrow files with a `data` column)
 * as a classification dataset. Labels come from `labels` (keys `file#window`;
 * windows without a label are left out) or else from the `label` column.
 * Class ids follow sorted label names unless `classes` fixes the order.
 */
export function loadWindowDataset(paths: string[], opts: { classes?: string[]; labels?: Map<string, string> } = {}): WindowData {
  const xs: Float32Array[] = [];
  const labels: string[] = [];
  let shape: number[] | null = null;
  let channels: ChannelInfo[] = [];
  let sfreq = 0;
  for (const path of paths) {
    const t = readArrow(path);
    const s = JSON.parse(t.schema.metadata.get("shape") ?? "null") as number[] | null;
    const dataCol = t.getChild("data");
    if (!s || !dataCol) throw new ConfigError(path, "not a window file of `neurocode run` (no data column or shape metadata)");
    const labelCol = t.getChild("label");
    if (!opts.labels && !labelCol) throw new ConfigError(path, "has no label column: window by annotations (window.annotations in the pipeline) or give a labels file");
    if (shape && shape.join() !== s.join()) throw new ShapeError(`${path} windows`, shape, s);
    const rate = Number(t.schema.metadata.get("sfreq"));
    if (sfreq && rate !== sfreq) throw new ConfigError(path, `windows at ${rate} Hz, others at ${sfreq} Hz`);
    const chans = JSON.parse(t.schema.metadata.get("channels") ?? "[]") as ChannelInfo[];
    if (channels.length && chans.map((c) => c.name).join() !== channels.map((c) => c.name).join()) throw new ConfigError(path, "its channels differ from the other files' (pick the same channels in the pipeline)");
    [shape, sfreq, channels] = [s, rate, chans];
    const files = t.getChild("file")?.toArray() as string[] | undefined;
    const windows = t.getChild("window")?.toArray() as Int32Array | undefined;
    for (let i = 0; i < t.numRows; i++) {
      const label = opts.labels ? opts.labels.get(`${files?.[i]}#${windows?.[i]}`) : (labelCol!.get(i) as string);
      if (label === undefined) continue;
      labels.push(label);
      xs.push(dataCol.get(i)!.toArray() as Float32Array);
    }
  }
  if (!shape) throw new ConfigError("data", "no window files");
  if (labels.length === 0) throw new ConfigError("labels", "no window has a label");
  const names = opts.classes ?? [...new Set(labels)].sort();
  const index = new Map(names.map((c, i) => [c, i]));
  const y = Int32Array.from(labels, (l) => {
    const i = index.get(l);
    if (i === undefined) throw new ConfigError("labels", `label "${l}" is not one of ${names.join(", ")}`);
    return i;
  });
  const size = shape[0]! * shape[1]!;
  const x = new Float32Array(xs.length * size);
  xs.forEach((w, i) => x.set(w, i * size));
  return { dataset: arrayDataset(x, shape, y), classes: names, channels, sfreq };
}
