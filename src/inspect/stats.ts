import { ConfigError, ShapeError } from "../errors.js";

/**
 * How an activation tensor is cut into rows: one row per (batch item, position),
 * the last axis holding the features. `[d]` is one row; `[B, d]` is B rows at
 * position 0; `[B, T1, ..., d]` is B·T1·... rows whose positions are flattened
 * in row-major order (so a `[B, T, d]` transformer stream gives token index t).
 */
export interface RowLayout {
  /** Batch items (first axis; 1 for a rank-1 tensor). */
  batch: number;
  /** Positions per batch item (product of the middle axes; 1 when there are none). */
  positions: number;
  /** Features per row (last axis). */
  width: number;
}

/** Row layout of a tensor shape (see `RowLayout`); rank-0 shapes are a `ShapeError`. */
export function rowLayout(shape: readonly number[], what = "activation"): RowLayout {
  if (shape.length === 0) throw new ShapeError(what, ["*"], [...shape]);
  const width = shape[shape.length - 1]!;
  if (shape.length === 1) return { batch: 1, positions: 1, width };
  let positions = 1;
  for (let i = 1; i < shape.length - 1; i++) positions *= shape[i]!;
  return { batch: shape[0]!, positions, width };
}

/** Options of `rowStats`. */
export interface RowStatsOptions {
  /** How many largest-|x| features to keep per row (default 4; 0 keeps none). */
  topK?: number;
  /** |x| ≤ nearZeroEps counts as near zero (default 1e-3, absolute, same unit as x). */
  nearZeroEps?: number;
  /**
   * Also estimate median |x| per row (default true; needed by the massive-
   * activation analysis of summary records). Off, `medianAbs` is NaN and
   * recording is cheaper (the selection is about half the per-row cost).
   */
  median?: boolean;
}

/** Reusable top-k buffers for `rowStats`, so recording allocates nothing per row. */
export interface TopKScratch {
  indices: Int32Array;
  values: Float32Array;
  abs: Float64Array;
}

/** `TopKScratch` for k entries. */
export function topKScratch(k: number): TopKScratch {
  return { indices: new Int32Array(k), values: new Float32Array(k), abs: new Float64Array(k) };
}

/** Summary statistics of one row (one batch item at one position) of an activation. */
export interface RowStats {
  /** ‖x‖₂ over the features. */
  l2: number;
  mean: number;
  /** max |x|. */
  maxAbs: number;
  /** Feature index of max |x| (first one on ties). */
  argMaxAbs: number;
  /** median |x| (lower median; estimated from 32 strided entries for wider rows). */
  medianAbs: number;
  /** Fraction of features exactly 0 (the lazy-neuron measure is 1 − this after a ReLU). */
  fracZero: number;
  /** Fraction of features with |x| ≤ nearZeroEps. */
  fracNearZero: number;
  /** Fraction of features > 0: the nonzero fraction a ReLU would leave, for pre-activations. */
  fracPositive: number;
  /** Indices of the topK largest |x|, largest first (views of the `top` scratch when one is passed: copy them to keep). */
  topIndices: Int32Array;
  /** x at `topIndices` (signed). */
  topValues: Float32Array;
}

/** Checks `RowStatsOptions` and fills in the defaults. */
export function resolveRowStatsOptions(opts: RowStatsOptions = {}): Required<RowStatsOptions> {
  const topK = opts.topK ?? 4;
  const nearZeroEps = opts.nearZeroEps ?? 1e-3;
  const median = opts.median ?? true;
  if (!Number.isInteger(topK) || topK < 0) throw new ConfigError("topK", `must be an integer ≥ 0, got ${topK}`);
  if (!(nearZeroEps >= 0)) throw new ConfigError("nearZeroEps", `must be ≥ 0, got ${nearZeroEps}`);
  return { topK, nearZeroEps, median };
}

/** Rows wider than this get their median |x| from this many evenly strided entries. */
export const MEDIAN_SAMPLE = 32;

/**
 * Summary statistics of `x[offset .. offset + width)`.
 * `scratch` (length ≥ min(width, 32)) is reused for the median so a recorder
 * does not allocate per row. `medianAbs` is exact for rows of ≤ 32 features
 * and the median of 32 evenly strided entries for wider rows: a ±20% estimate,
 * enough for the 1000×-median test of massive activations, at a fraction of
 * the cost of an exact selection (which dominated the recording overhead).
 */
export function rowStats(
  x: Float32Array,
  offset: number,
  width: number,
  opts: Required<RowStatsOptions>,
  scratch: Float64Array = new Float64Array(Math.min(width, MEDIAN_SAMPLE)),
  top: TopKScratch = topKScratch(opts.topK),
): RowStats {
  let sum = 0;
  let sq = 0;
  let maxAbs = -1;
  let argMaxAbs = 0;
  let zeros = 0;
  let near = 0;
  let positive = 0;
  const eps = opts.nearZeroEps;
  const k = Math.min(opts.topK, width);
  const topIndices = top.indices.subarray(0, k);
  const topValues = top.values.subarray(0, k);
  const topAbs = top.abs.fill(-1);
  let floor = k > 0 ? -1 : Infinity; // smallest |x| currently in the top-k list
  const end = offset + width;
  for (let p = offset; p < end; p++) {
    const v = x[p]!;
    const a = Math.abs(v);
    sum += v;
    sq += v * v;
    // Branch-free counts: on signed data these comparisons are unpredictable.
    zeros += +(v === 0);
    positive += +(v > 0);
    near += +(a <= eps);
    if (a > maxAbs) {
      maxAbs = a;
      argMaxAbs = p - offset;
    }
    if (a > floor) {
      // Insertion into a k-long sorted list: k is small, so this beats a heap.
      let j = k - 1;
      while (j > 0 && topAbs[j - 1]! < a) {
        topAbs[j] = topAbs[j - 1]!;
        topIndices[j] = topIndices[j - 1]!;
        topValues[j] = topValues[j - 1]!;
        j--;
      }
      topAbs[j] = a;
      topIndices[j] = p - offset;
      topValues[j] = v;
      floor = topAbs[k - 1]!;
    }
  }
  let median = NaN;
  if (width > 0 && opts.median) {
    const n = Math.min(width, MEDIAN_SAMPLE);
    for (let i = 0; i < n; i++) scratch[i] = Math.abs(x[offset + Math.floor((i * width) / n)]!);
    median = selectKth(scratch, n, (n - 1) >> 1);
  }
  return {
    l2: Math.sqrt(sq),
    mean: width > 0 ? sum / width : NaN,
    maxAbs: width > 0 ? maxAbs : NaN,
    argMaxAbs,
    medianAbs: median,
    fracZero: width > 0 ? zeros / width : NaN,
    fracNearZero: width > 0 ? near / width : NaN,
    fracPositive: width > 0 ? positive / width : NaN,
    topIndices,
    topValues,
  };
}

/** k-th smallest of `a[0..n)` (0-based), reordering `a` in place (Hoare quickselect). */
export function selectKth(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Median of |x| over all of `x` (lower median), without changing `x`. */
export function medianAbs(x: ArrayLike<number>): number {
  const n = x.length;
  if (n === 0) return NaN;
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.abs(x[i]!);
  return selectKth(a, n, (n - 1) >> 1);
}

/** Residual-update statistics of a row whose module input and output have the same shape. */
export interface UpdateStats {
  /** ‖in‖₂. */
  inL2: number;
  /** ‖out − in‖₂: the size of the module's update to the residual stream. */
  updateL2: number;
  /** cos(out − in, in); NaN when either is zero. Negative: the update erases the stream. */
  updateCos: number;
}

/** `UpdateStats` of one row of `input` and `output` (same layout). */
export function updateStats(input: ArrayLike<number>, output: ArrayLike<number>, offset: number, width: number): UpdateStats {
  let ii = 0;
  let uu = 0;
  let ui = 0;
  for (let i = offset; i < offset + width; i++) {
    const a = input[i]!;
    const u = output[i]! - a;
    ii += a * a;
    uu += u * u;
    ui += u * a;
  }
  const denom = Math.sqrt(ii * uu);
  return { inL2: Math.sqrt(ii), updateL2: Math.sqrt(uu), updateCos: denom > 0 ? ui / denom : NaN };
}

/**
 * A channels-first array `[B, C, ...positions]` (Conv1d's `[B, C, T]`) as
 * channels-last `[B, ...positions, C]`, so rows are positions and features are
 * channels. Ranks below 3 are returned as they are.
 */
export function channelsLast(data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  if (shape.length < 3) return { data, shape: [...shape] };
  const [B, C] = [shape[0]!, shape[1]!];
  const P = shape.slice(2).reduce((a, b) => a * b, 1);
  if (B * C * P !== data.length) throw new ShapeError("channels-first activation", shape, [data.length]);
  const out = new Float32Array(data.length);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const src = (b * C + c) * P;
      for (let p = 0; p < P; p++) out[(b * P + p) * C + c] = data[src + p]!;
    }
  }
  return { data: out, shape: [B, ...shape.slice(2), C] };
}
