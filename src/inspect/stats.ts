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
   * recording is cheaper: the sampled median costs about as much as all the
   * other statistics of a 64-wide row.
   */
  median?: boolean;
}

/** Summary statistics of one row (one batch item at one position) of an activation. */
export interface RowStats {
  /** ‖x‖₂ over the features. */
  l2: number;
  mean: number;
  /** max |x| over the non-NaN features (NaN when there are none). */
  maxAbs: number;
  /** Feature index of max |x| (first one on ties; −1 when every feature is NaN). */
  argMaxAbs: number;
  /** median |x| (lower median; estimated from 32 strided entries for wider rows; NaN if a sampled entry is NaN). */
  medianAbs: number;
  /** Fraction of features exactly 0 (the lazy-neuron measure is 1 − this after a ReLU). */
  fracZero: number;
  /** Fraction of features with |x| ≤ nearZeroEps. */
  fracNearZero: number;
  /** Fraction of features > 0: the nonzero fraction a ReLU would leave, for pre-activations. */
  fracPositive: number;
  /**
   * Indices of the topK largest |x|, largest first, earlier index first on ties.
   * NaN features are never among them, so a row with fewer than topK non-NaN
   * features has fewer entries.
   */
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

/** The float64 per-row statistics, in the column order of activation tables. */
export const FLOAT_STATS = ["l2", "mean", "maxAbs", "medianAbs", "fracZero", "fracNearZero", "fracPositive", "inL2", "updateL2", "updateCos"] as const;
/** Name of a float64 per-row statistic. */
export type FloatStat = (typeof FLOAT_STATS)[number];

/**
 * Per-row statistics of a block of rows (one module call) in typed-array
 * columns, as `RowStatsKernel.rows` returns them. Row r's top-k entries are
 * `topIndices/topValues[r·topK .. r·topK + topCount[r])`.
 */
export class StatsColumns {
  /** The float64 statistics (`inL2`, `updateL2`, `updateCos` are NaN for rows without update statistics). */
  readonly f: Record<FloatStat, Float64Array>;
  readonly argMaxAbs: Int32Array;
  readonly topCount: Int32Array;
  readonly topIndices: Int32Array;
  readonly topValues: Float32Array;

  /**
   * @param topK top-k entries kept per row (the stride of `topIndices`)
   * @param length rows
   */
  constructor(
    readonly topK: number,
    readonly length: number,
  ) {
    // One allocation for all float columns: a call's statistics are made (and dropped) together.
    const all = new Float64Array(FLOAT_STATS.length * length);
    this.f = Object.fromEntries(FLOAT_STATS.map((k, i) => [k, all.subarray(i * length, (i + 1) * length)])) as Record<FloatStat, Float64Array>;
    this.argMaxAbs = new Int32Array(length);
    this.topCount = new Int32Array(length);
    this.topIndices = new Int32Array(length * topK);
    this.topValues = new Float32Array(length * topK);
  }
}

/** Bit pattern of +Infinity as float32: |x| bit patterns above it are NaN. */
const INF_BITS = 0x7f800000;
/**
 * How far below the previous row's k-th largest |x| the next row's candidate
 * threshold starts, in float32 bit-pattern units: 2^22 (half the mantissa
 * range) scales |x| by 0.67–0.75. On the residual streams and FFN pre-activations of
 * `bench/inspect.ts` it gives 16–36 candidates per row and full rescans on
 * under 6% of rows; 2^20 rescanned 20–35% of rows, 2^24 let 40–260 through.
 */
const GUESS_STEP = 1 << 22;

/**
 * Accumulators of one row pass, reused from row to row. The passes are small
 * functions rather than loops inside `RowStatsKernel.rows`, so V8 optimizes
 * them whole with full type feedback instead of on-stack-replacing a loop of
 * a function whose tail it has not seen run (which deoptimized over and over).
 */
class RowPass {
  sum = 0;
  sq = 0;
  zeros = 0;
  near = 0;
  positive = 0;
  /** Entries in the top-k list. */
  filled = 0;
  /** Candidate threshold for the next row, as a |x| bit pattern (0: every feature). */
  guess = 0;
  ii = 0;
  uu = 0;
  ui = 0;
  /** |x| bit patterns of the top-k list, largest first (non-negative floats order like their bits). */
  readonly topBits: Int32Array;
  /** Feature indices of the top-k list. */
  readonly topIdx: Int32Array;
  /** Positions of the features that may be in the top k. */
  cand = new Int32Array(0);

  constructor(k: number) {
    this.topBits = new Int32Array(k);
    this.topIdx = new Int32Array(k);
  }
}

/**
 * One pass over `x[off .. end)` (`bits`: the same memory as int32) and, when
 * given, the module input at the same positions: sum, sum of squares, zero /
 * near-zero / positive counts, ‖in‖², ‖x − in‖², (x − in)·in, and the
 * positions whose |x| reaches a guessed threshold. If at least `kk` do, the
 * k-th largest |x| is at least the guess, so the top k are among them and only
 * they go through the sorted insertion (whose unpredictable branches made the
 * top-k most of the cost); otherwise (or with NaN in the row) every position
 * does. The top-k list comes out sorted by |x|, earlier index first on ties,
 * without NaN; its first entry is max |x|.
 */
function scanRow(s: RowPass, x: Float32Array, bits: Int32Array, input: Float32Array | null, off: number, end: number, eps: number, kk: number): void {
  const { topBits, topIdx, cand } = s;
  const guess = s.guess;
  let sum = 0;
  let sq = 0;
  let zeros = 0;
  let near = 0;
  let positive = 0;
  let nc = 0;
  let ii = 0;
  let uu = 0;
  let ui = 0;
  for (let p = off; p < end; p++) {
    const v = x[p]!;
    sum += v;
    sq += v * v;
    // Branch-free counts and candidate list: on signed data these comparisons are unpredictable.
    zeros += +(v === 0);
    positive += +(v > 0);
    near += +(Math.abs(v) <= eps);
    cand[nc] = p;
    nc += +((bits[p]! & 0x7fffffff) >= guess);
    if (input !== null) {
      const a = input[p]!;
      const u = v - a;
      ii += a * a;
      uu += u * u;
      ui += u * a;
    }
  }
  // A NaN passes any guess (its bits exceed +Inf's) and makes the sum NaN.
  if (nc < kk || sum !== sum) {
    nc = end - off;
    for (let i = 0; i < nc; i++) cand[i] = off + i;
  }
  let filled = 0;
  let floor = -1; // smallest |x| bits in the list once it is full
  for (let i = 0; i < nc; i++) {
    const p = cand[i]!;
    const b = bits[p]! & 0x7fffffff;
    if (b > floor && b <= INF_BITS) {
      // Insertion into a short sorted list (k is small: beats a heap).
      let j = filled < kk ? filled++ : kk - 1;
      while (j > 0 && topBits[j - 1]! < b) {
        topBits[j] = topBits[j - 1]!;
        topIdx[j] = topIdx[j - 1]!;
        j--;
      }
      topBits[j] = b;
      topIdx[j] = p - off;
      if (filled === kk) floor = topBits[kk - 1]!;
    }
  }
  s.sum = sum;
  s.sq = sq;
  s.zeros = zeros;
  s.near = near;
  s.positive = positive;
  s.filled = filled;
  s.guess = filled === kk ? Math.max(0, topBits[kk - 1]! - GUESS_STEP) : 0;
  s.ii = ii;
  s.uu = uu;
  s.ui = ui;
}

/**
 * Computes the summary statistics of activation rows, one pass over each row
 * (and the module input's row, when there is one: `scanRow`), writing
 * straight into `StatsColumns`. Scratch space is allocated once
 * per kernel (grown for wider rows).
 */
export class RowStatsKernel {
  private readonly opts: Required<RowStatsOptions>;
  private readonly pass: RowPass;
  private readonly sample = new Float64Array(MEDIAN_SAMPLE);
  /** Feature offsets of the median sample for rows of `sampleWidth` features. */
  private readonly sampleAt = new Int32Array(MEDIAN_SAMPLE);
  private sampleWidth = -1;

  constructor(opts: Required<RowStatsOptions>) {
    this.opts = opts;
    // At least one slot: the first entry is max |x| even when topK is 0.
    this.pass = new RowPass(Math.max(1, opts.topK));
  }

  /**
   * The statistics of `rows` consecutive rows of `width` features of `x`
   * (row-major). With `input` (same layout as `x`: the module's input when it
   * has the output's shape) the rows also get ‖in‖₂, ‖x − in‖₂ and
   * cos(x − in, in); without, those are NaN.
   */
  rows(x: Float32Array, rows: number, width: number, input: Float32Array | null): StatsColumns {
    const cols = new StatsColumns(this.opts.topK, rows);
    const { topK, nearZeroEps: eps, median } = this.opts;
    const kk = Math.max(1, Math.min(topK, width));
    const keep = Math.min(topK, width);
    const s = this.pass;
    if (s.cand.length < width) s.cand = new Int32Array(width);
    const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
    const { topIdx } = s;
    const f = cols.f;
    const { argMaxAbs, topCount, topIndices, topValues } = cols;
    const n = width > 0 ? width : NaN;
    for (let r = 0; r < rows; r++) {
      const off = r * width;
      scanRow(s, x, bits, input, off, off + width, eps, kk);
      if (input !== null) {
        const denom = Math.sqrt(s.ii * s.uu);
        f.inL2[r] = Math.sqrt(s.ii);
        f.updateL2[r] = Math.sqrt(s.uu);
        f.updateCos[r] = denom > 0 ? s.ui / denom : NaN;
      } else {
        f.inL2[r] = f.updateL2[r] = f.updateCos[r] = NaN;
      }
      f.l2[r] = Math.sqrt(s.sq);
      f.mean[r] = s.sum / n;
      f.fracZero[r] = s.zeros / n;
      f.fracNearZero[r] = s.near / n;
      f.fracPositive[r] = s.positive / n;
      f.maxAbs[r] = s.filled > 0 ? Math.abs(x[off + topIdx[0]!]!) : NaN;
      argMaxAbs[r] = s.filled > 0 ? topIdx[0]! : -1;
      const count = Math.min(keep, s.filled);
      topCount[r] = count;
      for (let j = 0, o = r * topK; j < count; j++, o++) {
        topIndices[o] = topIdx[j]!;
        topValues[o] = x[off + topIdx[j]!]!;
      }
      f.medianAbs[r] = median && width > 0 ? this.sampledMedian(x, off, width) : NaN;
    }
    return cols;
  }

  /** Lower median of |x| over `MEDIAN_SAMPLE` evenly strided features of the row (all of them when fewer); NaN if one is NaN. */
  private sampledMedian(x: Float32Array, off: number, width: number): number {
    const n = Math.min(width, MEDIAN_SAMPLE);
    const { sample, sampleAt } = this;
    if (this.sampleWidth !== width) {
      for (let i = 0; i < n; i++) sampleAt[i] = Math.floor((i * width) / n);
      this.sampleWidth = width;
    }
    let nan = false;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(x[off + sampleAt[i]!]!);
      nan ||= a !== a;
      sample[i] = a;
    }
    return nan ? NaN : selectKth(sample, n, (n - 1) >> 1);
  }
}

/**
 * Summary statistics of `x[offset .. offset + width)` (one row; see
 * `RowStatsKernel` for many). `medianAbs` is exact for rows of ≤ 32 features
 * and the median of 32 evenly strided entries for wider rows: a ±20% estimate,
 * enough for the 1000×-median test of massive activations, at a fraction of
 * the cost of an exact selection (which dominated the recording overhead).
 */
export function rowStats(x: Float32Array, offset: number, width: number, opts: Required<RowStatsOptions>): RowStats {
  const cols = new RowStatsKernel(opts).rows(x.subarray(offset, offset + width), 1, width, null);
  const f = cols.f;
  return {
    l2: f.l2[0]!,
    mean: f.mean[0]!,
    maxAbs: f.maxAbs[0]!,
    argMaxAbs: cols.argMaxAbs[0]!,
    medianAbs: f.medianAbs[0]!,
    fracZero: f.fracZero[0]!,
    fracNearZero: f.fracNearZero[0]!,
    fracPositive: f.fracPositive[0]!,
    topIndices: cols.topIndices.slice(0, cols.topCount[0]!),
    topValues: cols.topValues.slice(0, cols.topCount[0]!),
  };
}

/**
 * k-th smallest of `a[0..n)` (0-based), reordering `a` in place. Quickselect
 * with branch-free partitions (the element is moved either way and the
 * comparison only advances an index, so random data costs no mispredicted
 * branches: about 2× faster than a Hoare partition here) and a separate run
 * for pivot ties, so repeated values (ReLU zeros) stay linear. `a` should
 * hold no NaN (a NaN met as pivot returns NaN).
 */
export function selectKth(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n; // the k-th smallest lies in a[lo, hi)
  while (hi - lo > 1) {
    const pivot = a[(lo + hi) >> 1]!;
    if (pivot !== pivot) return NaN; // NaN compares false both ways: no progress possible
    let lt = lo; // a[lo, lt) < pivot
    for (let i = lo; i < hi; i++) {
      const v = a[i]!;
      a[i] = a[lt]!;
      a[lt] = v;
      lt += +(v < pivot);
    }
    if (k < lt) {
      hi = lt;
      continue;
    }
    let eq = lt; // a[lt, eq) == pivot
    for (let i = lt; i < hi; i++) {
      const v = a[i]!;
      a[i] = a[eq]!;
      a[eq] = v;
      eq += +(v === pivot);
    }
    if (k < eq) return pivot;
    lo = eq;
  }
  return a[k]!;
}

/** Median of |x| over all of `x` (lower median), without changing `x`; NaN when `x` is empty or holds a NaN. */
export function medianAbs(x: ArrayLike<number>): number {
  const n = x.length;
  if (n === 0) return NaN;
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.abs(x[i]!);
    if (v !== v) return NaN;
    a[i] = v;
  }
  return selectKth(a, n, (n - 1) >> 1);
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
