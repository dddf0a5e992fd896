/**
 * In-memory datasets of fixed-shape samples (windows) with labels, and the
 * deterministic batch order a resumable training loop needs.
 */
import { readArrow } from "../io/arrow.js";
import { Rng } from "../engine/random.js";
import { ConfigError, ShapeError } from "../errors.js";

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
 * Loads windows written by `neurocode run` (Arrow files with a `data` column
 * and a `label` column) as a classification dataset. Labels are numbered in
 * sorted order unless `classes` fixes the order.
 */
export function loadWindowDataset(paths: string[], classes?: string[]): { dataset: ArrayDataset; classes: string[] } {
  const parts: { x: Float32Array; labels: string[] }[] = [];
  let shape: number[] | null = null;
  for (const path of paths) {
    const t = readArrow(path);
    const s = JSON.parse(t.schema.metadata.get("shape") ?? "null") as number[] | null;
    const labelCol = t.getChild("label");
    const dataCol = t.getChild("data");
    if (!s || !dataCol) throw new ConfigError(path, "not a window file of `neurocode run` (no data column or shape metadata)");
    if (!labelCol) throw new ConfigError(path, "has no label column: window by annotations (window.annotations in the pipeline)");
    if (shape && shape.join() !== s.join()) throw new ShapeError(`${path} windows`, shape, s);
    shape = s;
    const size = s[0]! * s[1]!;
    const x = new Float32Array(t.numRows * size);
    for (let i = 0; i < t.numRows; i++) x.set(dataCol.get(i)!.toArray() as Float32Array, i * size);
    parts.push({ x, labels: labelCol.toArray() as string[] });
  }
  if (!shape) throw new ConfigError("data", "no window files");
  const all = parts.flatMap((p) => p.labels);
  const names = classes ?? [...new Set(all)].sort();
  const index = new Map(names.map((c, i) => [c, i]));
  const y = Int32Array.from(all, (l) => {
    const i = index.get(l);
    if (i === undefined) throw new ConfigError("labels", `label "${l}" is not one of ${names.join(", ")}`);
    return i;
  });
  const x = new Float32Array(parts.reduce((a, p) => a + p.x.length, 0));
  let off = 0;
  for (const p of parts) {
    x.set(p.x, off);
    off += p.x.length;
  }
  return { dataset: arrayDataset(x, shape, y), classes: names };
}
