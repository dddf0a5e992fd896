import type * as tf from "@tensorflow/tfjs";
import type { WasmHeapBackend } from "../engine/kernels.js";
import { backendMemory, type SimdBackend } from "../engine/simd.js";
import {
  BITSELECT, F32X4, F64X2, forLoop, get, highHalf, i32, I32S, I32X4, instantiate, lanes, lowHalf, memarg, op, set, SHUFFLE, SWAP_HALVES, SWAP_PAIRS, uleb, V128, V128_LOAD, V128_STORE, vec,
  type Code, type WasmMemory,
} from "../engine/wasm-asm.js";
import { MEDIAN_SAMPLE, StatsColumns, type RowStatsOptions } from "./stats.js";

/*
 * The recorder's summary statistics as a WebAssembly SIMD kernel that reads
 * activations where the wasm backend keeps them. The JS kernel (`RowStatsKernel`)
 * costs 4.5-8 ns per value, about a quarter of a narrow (d = 64) transformer's
 * forward pass; this one works on four values per instruction and copies
 * nothing out of the heap: 1.4-2.1 ns per value, plus ~60 ns per row on the
 * host (`bench/inspect.ts`).
 *
 * Per row, a first pass keeps float64 sums (sum, squares and, with an input,
 * the residual-update sums) in f64x2 accumulators; zero, near-zero and positive
 * counts per lane; and per lane the k' largest |x| (k' = topK rounded up to a
 * power of two) by a min/max insertion network on bit patterns (non-negative
 * floats order like their bits; NaN is mapped to −1 and never enters). Two
 * bitonic merges across lanes then give the row's k-th largest |x|, θ. A
 * second pass over the (cached) row collects the features above θ (fewer than
 * k) and, in index order, those equal to θ: the host sorts those few, which is
 * the JS kernel's order (larger first, earlier index on ties). The sampled
 * median is a rank count over the 32 sampled |x|: the k-th smallest is the
 * largest entry with at most k entries below it, so nothing is sorted.
 *
 * Everything but the float64 sums is exactly the JS kernel's result; the sums
 * add the same float64 terms in another order (lane-wise), so l2, mean and the
 * update statistics may differ from it in the last bits.
 */

/** Largest top-k the kernel handles. */
export const SIMD_MAX_TOPK = 8;
/** Rows per kernel call: bounds the record scratch on the heap. */
const CHUNK_ROWS = 2048;
/** Bytes before the row records: 32 sample offsets, then 32 sampled |x| bit patterns. */
const TABLE_BYTES = 256;
const INF_BITS = 0x7f800000;
const NAN_BITS = 0x7fc00000;

/**
 * Byte layout of one row's record: f64x2 partial sums, i32x4 partial counts,
 * the median's bit pattern, how many features are above θ (`g`) and equal to
 * it (`e`, at most k kept), then k (raw float32 bits, index) pairs of each.
 */
const REC = { sum: 0, sq: 16, ii: 32, uu: 48, ui: 64, zeros: 80, near: 96, positive: 112, median: 128, g: 132, e: 136, above: 144 } as const;
const recordBytes = (k: number): number => REC.above + 16 * k;

/** `(x, input, out, rows, widthBytes, eps, table)`: statistics of `rows` rows at byte offset x into records at out. */
type StatsFn = (x: number, input: number, out: number, rows: number, widthBytes: number, eps: number, table: number) => void;


/**
 * The kernel's code for the k largest |x| (k ≤ 8), with or without the update
 * statistics and the sampled median. Row width must be a multiple of 4 and at
 * least 32 (the table holds 32 byte offsets into the row).
 */
function kernelCode(k: number, withInput: boolean, median: boolean): Code {
  const kp = k <= 1 ? 1 : k <= 2 ? 2 : k <= 4 ? 4 : 8;
  const [X, IN, OUT, ROWS, WB, EPS, TAB] = [0, 1, 2, 3, 4, 5, 6];
  const [R, P, XR, IR, OR, S, SLIM, G, E, BL, TH] = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const I32_LOCALS = 11;
  let next = 7 + I32_LOCALS;
  const v = (n = 1): number => ((next += n), next - n);
  const [V, B, H, LO, HI, A, ALO, AHI, U] = [v(), v(), v(), v(), v(), v(), v(), v(), v()];
  const [SUM, SQ, II, UU, UI, ZC, NC, PC, EPSV, THV, MED, NANY, SPL] = [v(), v(), v(), v(), v(), v(), v(), v(), v(), v(), v(), v(), v()];
  const T = v(kp);
  const RT = v(kp);
  const SM = v(4);
  const L = v(4);
  const f64 = (o: number): Code => op(o);
  const at = (base: number, off: number): Code => [...get(base), ...i32(off), 0x6a];
  const store = (off: number, value: Code): Code => [...at(OR, off), ...value, ...op(V128_STORE), ...memarg(2)];
  const acc = (sum: number, term: Code): Code => [...get(sum), ...term, ...f64(F64X2.add), ...set(sum)];
  const sq = (a: number): Code => [...get(a), ...get(a), ...f64(F64X2.mul)];
  const promote = (from: number, lo: number, hi: number): Code => [...lowHalf(from), ...set(lo), ...highHalf(from), ...set(hi)];
  const count = (c: number, mask: Code): Code => [...get(c), ...mask, ...op(I32X4.sub), ...set(c)]; // a true lane is −1
  const load = (addr: Code): Code => [...addr, ...op(V128_LOAD), ...memarg(2)];
  const minMax = (a: number, b: number): Code => [
    ...get(a), ...get(b), ...op(I32X4.maxS), ...set(H),
    ...get(a), ...get(b), ...op(I32X4.minS), ...set(b),
    ...get(H), ...set(a),
  ];
  // |x| bits of V into B, NaN (bits above +Inf's) as −1.
  const absBits: Code = [
    ...get(V), ...lanes(0x7fffffff), ...op(V128.and), ...set(B),
    ...get(B), ...get(B), ...lanes(INF_BITS), ...op(I32X4.gtS), ...op(V128.or), ...set(B),
  ];

  // First pass. Per-lane top k': insert B through the sorted list (max stays, min moves on).
  const insert: Code = [];
  for (let j = 0; j < kp - 1; j++) insert.push(...minMax(T + j, B));
  insert.push(...get(T + kp - 1), ...get(B), ...op(I32X4.maxS), ...set(T + kp - 1));
  // The update sums in a pass of their own over the (cached) row: in the first pass their
  // accumulators would not fit the registers beside the others.
  const updatePass: Code = [
        ...load([...get(XR), ...get(P), 0x6a]), ...set(V),
        ...promote(V, LO, HI),
        ...load([...get(IR), ...get(P), 0x6a]), ...set(A),
        ...promote(A, ALO, AHI),
        ...get(LO), ...get(ALO), ...f64(F64X2.sub), ...set(U),
        ...acc(II, sq(ALO)), ...acc(UU, sq(U)), ...acc(UI, [...get(U), ...get(ALO), ...f64(F64X2.mul)]),
        ...get(HI), ...get(AHI), ...f64(F64X2.sub), ...set(U),
        ...acc(II, sq(AHI)), ...acc(UU, sq(U)), ...acc(UI, [...get(U), ...get(AHI), ...f64(F64X2.mul)]),
  ];
  const zero = lanes(0);
  const firstPass: Code = [
    ...load([...get(XR), ...get(P), 0x6a]), ...set(V),
    ...promote(V, LO, HI),
    ...acc(SUM, get(LO)), ...acc(SUM, get(HI)), ...acc(SQ, sq(LO)), ...acc(SQ, sq(HI)),
    ...count(ZC, [...get(V), ...zero, ...op(F32X4.eq)]),
    ...count(PC, [...get(V), ...zero, ...op(F32X4.gt)]),
    ...count(NC, [...get(V), ...op(F32X4.abs), ...get(EPSV), ...op(F32X4.le)]),
    ...absBits,
    ...insert,
  ];
  const start: Code = [];
  for (const a of [SUM, SQ, II, UU, UI, ZC, NC, PC]) start.push(...zero, ...set(a));
  for (let j = 0; j < kp; j++) start.push(...lanes(-1), ...set(T + j));

  // Top k' of lane pairs, then of all lanes: max(a_j, b_{k'−1−j}) is the top k' of both
  // lists as a bitonic sequence, sorted (larger first) by half-cleaners.
  const merge = (pattern: number[]): Code => {
    const c: Code = [];
    for (let j = 0; j < kp; j++) c.push(...get(T + j), ...get(T + j), ...op(SHUFFLE), ...pattern, ...set(RT + j));
    for (let j = 0; j < kp; j++) c.push(...get(T + j), ...get(RT + kp - 1 - j), ...op(I32X4.maxS), ...set(T + j));
    for (let st = kp >> 1; st >= 1; st >>= 1) for (let i = 0; i < kp; i++) if (!(i & st)) c.push(...minMax(T + i, T + i + st));
    return c;
  };
  // θ (the k-th largest |x| bits; −1 when fewer than k features are not NaN) and THV = splat(max(θ, 0)).
  const threshold: Code = [
    ...merge(SWAP_HALVES), ...merge(SWAP_PAIRS),
    ...get(T + k - 1), ...op(I32X4.extractLane), 0, ...set(TH),
    ...get(TH), ...i32(0), ...get(TH), ...i32(0), 0x4a, 0x1b, ...op(I32X4.splat), ...set(THV),
    ...i32(0), ...set(G), ...i32(0), ...set(E),
  ];
  // Second pass: features with bits ≥ max(θ, 0) are > θ (listed, fewer than k) or = θ (listed in order, up to k).
  const entry = (n: number, field: number): Code => [
    // (raw bits, index) at OR + field + 8n
    ...get(OR), ...get(n), ...i32(3), 0x74, 0x6a, ...get(XR), ...get(P), 0x6a, 0x28, 2, ...uleb(0), 0x36, 2, ...uleb(field),
    ...get(OR), ...get(n), ...i32(3), 0x74, 0x6a, ...get(P), ...i32(2), 0x76, 0x36, 2, ...uleb(field + 4),
    ...get(n), ...i32(1), 0x6a, ...set(n),
  ];
  const laneCheck = (l: number): Code => [
    ...get(B), ...op(I32X4.extractLane), l, ...set(BL),
    ...get(BL), ...get(TH), 0x4a, 0x04, 0x40, // if bits > θ
    ...entry(G, REC.above),
    0x05, // else if bits = θ ≥ 0 and fewer than k equal ones so far
    ...get(BL), ...get(TH), 0x46, ...get(BL), ...i32(0), 0x4e, 0x71, ...get(E), ...i32(k), 0x48, 0x71, 0x04, 0x40,
    ...entry(E, REC.above + 8 * k),
    0x0b, 0x0b,
    ...get(P), ...i32(4), 0x6a, ...set(P), // the next lane's feature
  ];
  const secondPass: Code = [
    ...load([...get(XR), ...get(P), 0x6a]), ...set(V),
    ...absBits,
    ...get(B), ...get(THV), ...op(I32X4.geS), ...op(V128.anyTrue), 0x04, 0x40,
    ...laneCheck(0), ...laneCheck(1), ...laneCheck(2), ...laneCheck(3),
    ...get(P), ...i32(16), 0x6b, ...set(P), // back to this vector (the loop adds 16)
    0x0b,
  ];

  const finish: Code = [
    ...store(REC.sum, get(SUM)), ...store(REC.sq, get(SQ)),
    ...(withInput ? [...store(REC.ii, get(II)), ...store(REC.uu, get(UU)), ...store(REC.ui, get(UI))] : []),
    ...store(REC.zeros, get(ZC)), ...store(REC.near, get(NC)), ...store(REC.positive, get(PC)),
    ...at(OR, REC.g), ...get(G), 0x36, 2, 0,
    ...at(OR, REC.e), ...get(E), 0x36, 2, 0,
  ];

  const medianCode: Code = [];
  if (median) {
    // Gather the sampled |x| bit patterns (the table holds their byte offsets in the row) into the table's second half.
    medianCode.push(
      ...forLoop(S, SLIM, 4, [
        ...at(TAB, TABLE_BYTES / 2), ...get(S), 0x6a,
        ...get(XR), ...get(TAB), ...get(S), 0x6a, 0x28, 2, 0, 0x6a, 0x28, 2, 0, // i32.load(xr + i32.load(tab + s))
        ...i32(0x7fffffff), 0x71, 0x36, 2, 0, // i32.and; i32.store
      ]),
      ...lanes(-1), ...set(MED), ...zero, ...set(NANY),
    );
    // Sixteen entries at a time (the registers hold no more): L[i] = −(number of sampled entries below entry i).
    for (let half = 0; half < 2; half++) {
      for (let i = 0; i < 4; i++) medianCode.push(...load(at(TAB, TABLE_BYTES / 2 + 16 * (4 * half + i))), ...set(SM + i), ...zero, ...set(L + i));
      for (let j = 0; j < 32; j++) {
        medianCode.push(...at(TAB, TABLE_BYTES / 2 + 4 * j), ...op(V128.load32Splat), ...memarg(2), ...set(SPL));
        for (let i = 0; i < 4; i++) medianCode.push(...get(L + i), ...get(SM + i), ...get(SPL), ...op(I32X4.gtS), ...op(I32X4.add), ...set(L + i));
      }
      // The lower median is the largest entry with at most 15 entries below it.
      for (let i = 0; i < 4; i++) {
        medianCode.push(...get(MED), ...get(SM + i), ...lanes(-1), ...get(L + i), ...lanes(-15), ...op(I32X4.geS), ...op(BITSELECT), ...op(I32X4.maxS), ...set(MED));
        medianCode.push(...get(NANY), ...get(SM + i), ...lanes(INF_BITS), ...op(I32X4.gtS), ...op(V128.or), ...set(NANY));
      }
    }
    const fold = (pattern: number[]): Code => [...get(MED), ...get(MED), ...get(MED), ...op(SHUFFLE), ...pattern, ...op(I32X4.maxS), ...set(MED)];
    medianCode.push(
      ...fold(SWAP_HALVES), ...fold(SWAP_PAIRS),
      ...at(OR, REC.median),
      ...i32(NAN_BITS), ...get(MED), ...op(I32X4.extractLane), 0, ...get(NANY), ...op(V128.anyTrue), 0x1b, // select
      0x36, 2, 0,
    );
  }

  return [
    ...vec([[I32_LOCALS, 0x7f], [next - 7 - I32_LOCALS, 0x7b]]),
    ...i32(MEDIAN_SAMPLE * 4), ...set(SLIM),
    ...get(EPS), ...op(F32X4.splat), ...set(EPSV),
    ...forLoop(R, ROWS, 1, [
      ...get(X), ...get(R), ...get(WB), 0x6c, 0x6a, ...set(XR),
      ...get(IN), ...get(R), ...get(WB), 0x6c, 0x6a, ...set(IR),
      ...get(OUT), ...get(R), ...i32(recordBytes(k)), 0x6c, 0x6a, ...set(OR),
      ...start,
      ...forLoop(P, WB, 16, firstPass),
      ...(withInput ? forLoop(P, WB, 16, updatePass) : []),
      ...threshold,
      ...forLoop(P, WB, 16, secondPass),
      ...finish,
      ...medianCode,
    ]),
    0x0b,
  ];
}

/** Largest float32 ≤ eps: for a float32 |x|, |x| ≤ eps exactly when |x| ≤ this. */
function float32AtMost(eps: number): number {
  const f = Math.fround(eps);
  if (f <= eps) return f;
  const bits = new Int32Array(new Float32Array([f]).buffer)[0]!;
  return new Float32Array(new Int32Array([bits - 1]).buffer)[0]!;
}

/** Kernels instantiated on each memory, by (k, update statistics, median). */
const compiled = new WeakMap<WasmMemory, Map<string, StatsFn | null>>();

/** The wasm backend as the heap statistics need it. */
type StatsBackend = SimdBackend & WasmHeapBackend;

/**
 * Summary statistics of activation rows computed on the wasm backend's heap
 * (see the file comment). `create` returns null where the kernel cannot run
 * (another backend, no WebAssembly SIMD, topK above `SIMD_MAX_TOPK`); callers then
 * use `RowStatsKernel` on host copies.
 */
export class HeapRowStats {
  private readonly k: number;
  private readonly eps32: number;

  private constructor(
    private readonly backend: StatsBackend,
    private readonly memory: WasmMemory,
    private readonly opts: Required<RowStatsOptions>,
  ) {
    this.k = Math.max(1, opts.topK);
    this.eps32 = float32AtMost(opts.nearZeroEps);
  }

  /** The heap kernel for the current backend (`backend`: `tf.backend()`), or null. */
  static create(backend: unknown, opts: Required<RowStatsOptions>): HeapRowStats | null {
    if (opts.topK > SIMD_MAX_TOPK) return null;
    const b = backend as Partial<StatsBackend>;
    if (typeof b.getMemoryOffset !== "function" || typeof b.typedArrayFromHeap !== "function" || !b.wasm) return null;
    const memory = backendMemory(b as StatsBackend);
    if (!memory) return null;
    const stats = new HeapRowStats(b as StatsBackend, memory, opts);
    return stats.kernel(false) ? stats : null;
  }

  /** Whether rows of `width` features can go through the kernel (a multiple of 4, at least 32). */
  supports(width: number): boolean {
    return width % 4 === 0 && width >= MEDIAN_SAMPLE;
  }

  private kernel(withInput: boolean): StatsFn | null {
    // Compiled once per memory and variant: recorders come and go (one per pass, often).
    let fns = compiled.get(this.memory);
    if (!fns) compiled.set(this.memory, (fns = new Map()));
    const key = `${this.k} ${withInput} ${this.opts.median}`;
    if (!fns.has(key)) fns.set(key, instantiate<StatsFn>(this.memory, [...I32S(5), 0x7d, 0x7f], kernelCode(this.k, withInput, this.opts.median)));
    return fns.get(key)!;
  }

  /**
   * Statistics of the `rows` rows of `width` features of the float32 tensor `x`
   * (and of its update from `input`, a float32 tensor of the same shape, when
   * given), as `RowStatsKernel.rows` gives them for the same values.
   */
  rows(x: tf.TensorInfo, input: tf.TensorInfo | null, rows: number, width: number): StatsColumns {
    const fn = this.kernel(input !== null)!;
    const { topK, median } = this.opts;
    const k = this.k;
    const rec = recordBytes(k);
    const cols = new StatsColumns(topK, rows);
    const chunk = Math.min(rows, CHUNK_ROWS);
    // Scratch on the heap (allocating may grow the memory: take views after).
    const scratch = this.backend.makeOutput([(TABLE_BYTES + chunk * rec) / 4], "float32");
    try {
      const tab = this.backend.getMemoryOffset(scratch.dataId);
      const xOff = this.backend.getMemoryOffset(x.dataId);
      const inOff = input ? this.backend.getMemoryOffset(input.dataId) : 0;
      const heap = this.memory.buffer;
      const table = new Int32Array(heap, tab, MEDIAN_SAMPLE);
      for (let i = 0; i < MEDIAN_SAMPLE; i++) table[i] = Math.floor((i * width) / MEDIAN_SAMPLE) * 4;
      // The records are read where the kernel wrote them (a SharedArrayBuffer on the threaded
      // build: these views are the only typed arrays `finishRows` ever sees, so V8 keeps it monomorphic).
      const at = tab + TABLE_BYTES;
      const f64 = new Float64Array(heap, at, (chunk * rec) / 8);
      const i32v = new Int32Array(heap, at, (chunk * rec) / 4);
      const f32 = new Float32Array(heap, at, (chunk * rec) / 4);
      for (let r0 = 0; r0 < rows; r0 += chunk) {
        const n = Math.min(chunk, rows - r0);
        const rowBytes = width * 4;
        fn(xOff + r0 * rowBytes, input ? inOff + r0 * rowBytes : 0, at, n, rowBytes, this.eps32, tab);
        finishRows(cols, r0, n, k, width, input !== null, median, f64, i32v, f32);
      }
    } finally {
      this.backend.disposeData(scratch.dataId);
    }
    return cols;
  }
}

/**
 * Fills rows `r0 .. r0 + n` of `cols` from the kernel's records (`f64`, `i32`,
 * `f32`: views of them on the heap; see `REC`).
 */
function finishRows(cols: StatsColumns, r0: number, n: number, k: number, width: number, withInput: boolean, median: boolean, f64: Float64Array, i32v: Int32Array, f32: Float32Array): void {
  const { argMaxAbs, topCount, topIndices, topValues, topK } = cols;
  const { l2, mean, inL2, updateL2, updateCos, fracZero, fracNearZero, fracPositive, medianAbs, maxAbs } = cols.f;
  const keep = Math.min(topK, width);
  const rec4 = recordBytes(k) / 4;
  for (let i = 0; i < n; i++) {
    const r = r0 + i;
    const q = i * rec4; // int32 index of the record
    const d = q >> 1; // float64 index
    l2[r] = Math.sqrt(f64[d + 2]! + f64[d + 3]!);
    mean[r] = (f64[d]! + f64[d + 1]!) / width;
    if (withInput) {
      const ii = f64[d + 4]! + f64[d + 5]!;
      const uu = f64[d + 6]! + f64[d + 7]!;
      const ui = f64[d + 8]! + f64[d + 9]!;
      const denom = Math.sqrt(ii * uu);
      inL2[r] = Math.sqrt(ii);
      updateL2[r] = Math.sqrt(uu);
      updateCos[r] = denom > 0 ? ui / denom : NaN;
    } else {
      inL2[r] = updateL2[r] = updateCos[r] = NaN;
    }
    fracZero[r] = (i32v[q + 20]! + i32v[q + 21]! + i32v[q + 22]! + i32v[q + 23]!) / width;
    fracNearZero[r] = (i32v[q + 24]! + i32v[q + 25]! + i32v[q + 26]! + i32v[q + 27]!) / width;
    fracPositive[r] = (i32v[q + 28]! + i32v[q + 29]! + i32v[q + 30]! + i32v[q + 31]!) / width;
    medianAbs[r] = median ? f32[q + 32]! : NaN;
    // Features above θ (in index order) sorted by |x|, larger first, stably; then those equal to θ.
    const g = i32v[q + 33]!;
    const filled = Math.min(k, g + i32v[q + 34]!);
    const above = q + REC.above / 4;
    for (let j = 0; j < g - 1; j++) {
      // Selection of the largest remaining |x| among entries j..g−1 (at most 7), earliest first on ties.
      let at = above + 2 * j;
      for (let m = j + 1; m < g; m++) {
        const c = above + 2 * m;
        if ((i32v[c]! & 0x7fffffff) > (i32v[at]! & 0x7fffffff)) at = c;
      }
      if (at !== above + 2 * j) rotateEntry(i32v, above + 2 * j, at);
    }
    // Entries equal to θ follow at above + 2k: shift them next to the ones above it.
    const equal = above + 2 * k;
    const o = r * topK;
    for (let j = 0; j < Math.min(keep, filled); j++) {
      const at = j < g ? above + 2 * j : equal + 2 * (j - g);
      topIndices[o + j] = i32v[at + 1]!;
      topValues[o + j] = f32[at]!;
    }
    const first = g > 0 ? above : equal;
    argMaxAbs[r] = filled > 0 ? i32v[first + 1]! : -1;
    maxAbs[r] = filled > 0 ? Math.abs(f32[first]!) : NaN;
    topCount[r] = Math.min(keep, filled);
  }
}

/** Moves the (bits, index) entry at `from` to `to` (< from), shifting the ones between up by one: keeps their order. */
function rotateEntry(a: Int32Array, to: number, from: number): void {
  const [bits, idx] = [a[from]!, a[from + 1]!];
  for (let p = from; p > to; p -= 2) {
    a[p] = a[p - 2]!;
    a[p + 1] = a[p - 1]!;
  }
  a[to] = bits;
  a[to + 1] = idx;
}
