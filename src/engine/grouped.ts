import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../errors.js";
import { transposeOnHeap, type WasmHeapBackend } from "./kernels.js";
import type { SimdBackend } from "./simd.js";
import { rowKernels, type RowBackend } from "./simd-rows.js";
import { otherProcessesLoad } from "./cpu-load.js";
import { productThreads, shapeBytes, SMALL_PRODUCT, viewProduct, type WasmBackend } from "./matmul.js";
import { singleThreaded } from "./wasm-threads.js";

/*
 * Grouped ("ragged") products for mixtures of experts: the rows of one [N, K]
 * matrix are split into E consecutive groups of `counts[e]` rows, group e
 * belonging to expert e. A padded [E, C, K] layout runs every expert over C
 * rows whatever its load; with capacity factor 1.25 that is a quarter more
 * product, activation and gradient work than the tokens need. Here each
 * group is one XNNPACK product on views of the wasm heap (no copies), and
 * the groups' sizes may change from call to call. The kernels have
 * registered gradients, so autodiff computes only the ones a loss needs
 * (a `customGrad` computes every input's).
 */

type KernelArgs = Parameters<tf.KernelConfig["kernelFunc"]>[0];
type Info = tf.TensorInfo;
type Backend = WasmBackend & WasmHeapBackend;

/** Kernel name; the thread policy leaves it to pick threads per product, as `BatchMatMul`. */
export const GROUPED_MATMUL = "NeurocodeGroupedMatMul";
const SEGMENT_SUM = "NeurocodeSegmentSum";

interface GroupedAttrs {
  counts: number[];
  /** "rows": out[group e] = a[group e]·b[e]; "inner": out[e] = a[group e]ᵀ·b[group e]. */
  mode: "rows" | "inner";
}

/**
 * Where other processes report their CPU use (Linux), per-expert products use
 * the thread pool only while they leave the other core free: a step makes 8
 * pooled calls per product where a dense layer makes one, and each waits for
 * the pool's second thread, which, when another process holds the core, costs
 * more than it gains (MoE step / dense step, load 3–4.7: 16 M multiply-adds
 * per product 1.56–1.94× pooled, 1.18–1.45× on one thread; 67 M 1.18–1.37×
 * vs 1.06–1.18×). With the core free the pool cuts a 16 M product's time by
 * a third to a half.
 */
const OTHERS_BUSY = 0.3;
/*
 * Elsewhere the process's own CPU/wall ratio of a pooled run is the witness:
 * products from GROUP_POOL_ALWAYS multiply-adds always use the pool, smaller
 * ones only while the last pooled run's ratio reached PARALLEL_MIN,
 * re-measured every PROBE_EVERY calls. (On Linux this probe left 40 % of a
 * quiet machine's grouped calls on one thread: XNNPACK packs the operand
 * serially, so a well-pooled run can read 1.2–1.5.)
 */
const GROUP_POOL_ALWAYS = 1 << 25;
const PARALLEL_MIN = 1.4;
const PROBE_EVERY = 8;
const poolState = { useful: true, sinceProbe: 0 };

/** Runs a group of products of `work` multiply-adds each, on the pool or not (see above). */
function groupThreads(work: number, fn: () => void): void {
  const others = work < SMALL_PRODUCT ? null : otherProcessesLoad();
  if (others !== null) {
    productThreads(others < OTHERS_BUSY ? work : 0, fn);
    return;
  }
  if (work >= GROUP_POOL_ALWAYS || work < SMALL_PRODUCT) {
    productThreads(work, fn);
    return;
  }
  if (!poolState.useful && ++poolState.sinceProbe < PROBE_EVERY) {
    productThreads(0, fn);
    return;
  }
  poolState.sinceProbe = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  productThreads(work, fn);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  poolState.useful = (cpu.user + cpu.system) / 1000 >= PARALLEL_MIN * wall;
}

function offsets(counts: number[]): number[] {
  const off = [0];
  for (const c of counts) off.push(off[off.length - 1]! + c);
  return off;
}

function groupedKernel(args: KernelArgs): Info {
  const { a, b, bias } = args.inputs as { a: Info; b: Info; bias?: Info };
  const { counts, mode } = args.attrs as unknown as GroupedAttrs;
  const backend = args.backend as unknown as Backend;
  const off = offsets(counts);
  const E = counts.length;
  const K = a.shape[1]!;
  const M = b.shape[b.shape.length - 1]!;
  const largest = Math.max(0, ...counts);
  if (mode === "rows") {
    const out = backend.makeOutput([off[E]!, M], "float32");
    const [aOff, bOff, oOff] = [a, b, out].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number, number];
    groupThreads(largest * K * M, () => {
      for (let e = 0; e < E; e++) {
        if (counts[e]! > 0) viewProduct(backend, aOff + off[e]! * K * 4, bOff + e * K * M * 4, oOff + off[e]! * M * 4, counts[e]!, K, M);
      }
    });
    if (bias) {
      // After the products, in float32 as a separate add would round (XNNPACK's own bias would start its sums from it).
      const biasOff = backend.getMemoryOffset(bias.dataId);
      singleThreaded(() => {
        for (let e = 0; e < E; e++) if (counts[e]! > 0) addRowInPlace(backend, oOff + off[e]! * M * 4, counts[e]!, M, biasOff + e * M * 4);
      });
    }
    return out;
  }
  return innerProducts(backend, a, b, counts, off, largest);
}

/**
 * out[e] = a_eᵀ·b_e, [E, K, M]. XNNPACK wants its left operand transposed and
 * packs its right one, so either each group of `a` is transposed into its own
 * [K, n_e] block and `b` packed, or each group of `b` is transposed and `a`
 * packed, giving (b_eᵀ·a_e) = out[e]ᵀ, which is transposed back. Packing costs
 * several times what a SIMD transpose does per element, and it runs on one
 * thread while the product runs on the pool, so the narrower operand is the
 * one packed (`PACK_COST`): dW_up = xᵀ·dh and dW_down = hᵀ·dy of 8 experts ×
 * hidden 256 at d 128, 4096 rows, pooled 7.9 → 7.2 and 8.0 → 6.7 ms.
 * Either way every sum runs over the same rows in the same order.
 */
/** XNNPACK's packing of a right operand per element, in SIMD transposes per element (~2.5 vs ~0.4 ns). */
const PACK_COST = 6;

function innerProducts(backend: Backend, a: Info, b: Info, counts: number[], off: number[], largest: number): Info {
  const E = counts.length;
  const N = off[E]!;
  const [K, M] = [a.shape[1]!, b.shape[1]!];
  // Elements moved: each operand's transposed or packed share, and the result transposed back.
  const swap = N * M + PACK_COST * N * K + E * K * M < N * K + PACK_COST * N * M;
  const [left, right, L, R] = swap ? [b, a, M, K] : [a, b, K, M];
  const out = backend.makeOutput([E, K, M], "float32");
  const lt = backend.makeOutput([N * L], "float32");
  const tmp = swap ? backend.makeOutput([E, M, K], "float32") : out;
  try {
    const [srcOff, dstOff] = [left, lt].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number];
    const heap = new Float32Array(backend.typedArrayFromHeap(lt).buffer);
    for (let e = 0; e < E; e++) {
      if (counts[e]! > 0) transposeOnHeap(backend as unknown as SimdBackend, heap, srcOff + off[e]! * L * 4, dstOff + off[e]! * L * 4, counts[e]!, L);
    }
    const ts = backend.typedArrayFromHeap(tmp) as Float32Array;
    for (let e = 0; e < E; e++) if (counts[e] === 0) ts.fill(0, e * K * M, (e + 1) * K * M);
    const [lOff, rOff, tOff] = [lt, right, tmp].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number, number];
    groupThreads(largest * K * M, () => {
      for (let e = 0; e < E; e++) {
        if (counts[e]! > 0) viewProduct(backend, lOff + off[e]! * L * 4, rOff + off[e]! * R * 4, tOff + e * K * M * 4, L, counts[e]!, R);
      }
    });
    if (swap) {
      // Back to [K, M] per expert (SIMD tiles: 0.1 ms for 8 × 128 × 256 where a JS transpose took ~0.7).
      const oOff = backend.getMemoryOffset(out.dataId);
      for (let e = 0; e < E; e++) transposeOnHeap(backend as unknown as SimdBackend, heap, tOff + e * K * M * 4, oOff + e * K * M * 4, M, K);
    }
  } finally {
    backend.disposeData(lt.dataId);
    if (swap) backend.disposeData(tmp.dataId);
  }
  return out;
}

let wasmAdd: ((...a: unknown[]) => void) | null = null;

/**
 * Adds the row at byte offset `rowOff` ([m] float32) to each of the `rows`
 * rows at byte offset `off`, in place, with the wasm `Add` kernel (XNNPACK,
 * SIMD) on views: 4x faster than a JS loop on the heap.
 */
function addRowInPlace(backend: Backend, off: number, rows: number, m: number, rowOff: number): void {
  wasmAdd ??= backend.wasm.cwrap("Add", null, ["number", "array", "number", "number", "array", "number", "number", "number"]);
  const reg = backend.wasm.tfjs;
  const ids = [backend.dataIdNextNumber++, backend.dataIdNextNumber++, backend.dataIdNextNumber++] as const;
  reg.registerTensor(ids[0], rows * m, off);
  reg.registerTensor(ids[1], m, rowOff);
  reg.registerTensor(ids[2], rows * m, off);
  wasmAdd(ids[0], shapeBytes([rows, m]), 2, ids[1], shapeBytes([1, m]), 2, 0 /* float32 */, ids[2]);
  for (const id of ids) reg.disposeData(id);
}

/**
 * `acc[j] += Σ xs[from + i·m + j]` over the whole rows in `xs[from .. to)`,
 * row after row. Four rows per pass over `acc` (same additions in the same
 * order, a quarter of the accumulator loads and stores: 2x faster).
 */
function accumulateRows(acc: Float64Array, xs: Float32Array, from: number, to: number): void {
  const m = acc.length;
  let o = from;
  for (; o + 4 * m <= to; o += 4 * m) {
    for (let j = 0; j < m; j++) {
      let s = acc[j]!;
      s += xs[o + j]!;
      s += xs[o + m + j]!;
      s += xs[o + 2 * m + j]!;
      s += xs[o + 3 * m + j]!;
      acc[j] = s;
    }
  }
  for (; o < to; o += m) for (let j = 0; j < m; j++) acc[j] = acc[j]! + xs[o + j]!;
}

/**
 * Column sums of each group of rows, [N, M] → [E, M], in float64 row by row (as the engine's `Sum` over a middle axis):
 * the columns in whole blocks of 16 and then 4 by the SIMD row kernels (the same sums, 1.7 → 0.4 ms for 4096 × 256),
 * the rest by `accumulateRows`.
 */
function segmentSumKernel(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { counts } = args.attrs as unknown as { counts: number[] };
  const backend = args.backend as unknown as Backend;
  const M = x.shape[1]!;
  const off = offsets(counts);
  const out = backend.makeOutput([counts.length, M], "float32");
  const simd = rowKernels(backend as unknown as RowBackend);
  const wide = simd ? M - (M % 16) : 0;
  const vec = simd ? M - (M % 4) : 0;
  if (vec > 0) {
    const [xOff, oOff] = [x, out].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number];
    for (let e = 0; e < counts.length; e++) {
      const [src, dst] = [xOff + off[e]! * M * 4, oOff + e * M * 4];
      if (wide > 0) simd!.sums16(src, dst, counts[e]!, 4 * wide, 4 * M);
      if (vec > wide) simd!.sums4(src + 4 * wide, dst + 4 * wide, counts[e]!, 4 * (vec - wide), 4 * M);
    }
    if (vec === M) return out;
  }
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const os = backend.typedArrayFromHeap(out) as Float32Array;
  const acc = new Float64Array(M);
  for (let e = 0; e < counts.length; e++) {
    acc.fill(0);
    accumulateRows(acc, xs, off[e]! * M, off[e + 1]! * M);
    // Columns the SIMD kernels summed keep their values: the same sums.
    os.set(acc.subarray(vec), e * M + vec);
  }
  return out;
}

let installed = false;

/** Registers the grouped kernels on the wasm backend (idempotent; before `installThreadPolicy`). */
export function installGroupedKernels(): void {
  if (installed || !tf.findBackend("wasm")) return;
  installed = true;
  tf.registerKernel({ kernelName: GROUPED_MATMUL, backendName: "wasm", kernelFunc: groupedKernel });
  tf.registerKernel({ kernelName: SEGMENT_SUM, backendName: "wasm", kernelFunc: segmentSumKernel });
  tf.registerGradient({ kernelName: GROUPED_MATMUL, inputsToSave: ["a", "b"], gradFunc: groupedGrad });
  tf.registerGradient({
    kernelName: SEGMENT_SUM,
    gradFunc: (dy, _saved, attrs) => {
      const { counts } = attrs as unknown as { counts: number[] };
      return { x: () => tf.gather(dy as tf.Tensor, tf.tensor1d(counts.flatMap((c, e) => new Array<number>(c).fill(e)), "int32")) };
    },
  });
}

/**
 * Only the gradients autodiff asks for are computed. rows: y_e = a_e·b_e + bias_e,
 * so da_e = dy_e·b_eᵀ, db_e = a_eᵀ·dy_e, dbias_e = Σ_rows dy_e. inner:
 * out_e = a_eᵀ·b_e, so da_e = b_e·dout_eᵀ, db_e = a_e·dout_e.
 */
function groupedGrad(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): ReturnType<tf.GradFunc> {
  const { counts, mode } = attrs as unknown as GroupedAttrs;
  const [a, b] = saved as [tf.Tensor2D, tf.Tensor];
  const g = dy as tf.Tensor;
  if (mode === "inner") {
    return {
      a: () => groupedMatMul(b as tf.Tensor2D, g as tf.Tensor3D, counts, { transposeB: true }),
      b: () => groupedMatMul(a, g as tf.Tensor3D, counts),
    };
  }
  return {
    a: () => groupedMatMul(g as tf.Tensor2D, b as tf.Tensor3D, counts, { transposeB: true }),
    b: () => groupedInnerProducts(a, g as tf.Tensor2D, counts),
    bias: () => segmentSum(g as tf.Tensor2D, counts),
  };
}

/** True when the grouped products run as one heap kernel (wasm); elsewhere they are built from slices. */
export function groupedKernelsActive(): boolean {
  return installed && tf.getBackend() === "wasm";
}

function checkCounts(what: string, n: number, counts: readonly number[]): number[] {
  if (counts.some((c) => !Number.isInteger(c) || c < 0)) throw new ShapeError(`${what} group sizes`, ["non-negative integers"], [...counts]);
  const total = counts.reduce((s, c) => s + c, 0);
  if (total !== n) throw new ShapeError(`${what} rows (sum of group sizes)`, [total], [n]);
  return [...counts];
}

/** Rows of `x` [N, ...] split into the groups (slices along axis 0). */
function splitGroups(x: tf.Tensor, counts: number[]): tf.Tensor[] {
  const off = offsets(counts);
  return counts.map((c, e) => tf.slice(x, off[e]!, c));
}

/**
 * Per-group products: rows `off[e] .. off[e] + counts[e]` of `a` times `b[e]`,
 * plus `bias[e]` when given. Differentiable w.r.t. `a`, `b` and `bias`, with
 * the gradients the padded form `matMul(a[E, C, K], b) + bias[:, None]` gets.
 *
 * @param a [N, K] float32, rows grouped by expert
 * @param b [E, K, M] (or [E, M, K] with `transposeB`)
 * @param counts [E] rows per group, summing to N
 * @param bias [E, M], optional
 * @returns [N, M]
 */
export function groupedMatMul(a: tf.Tensor2D, b: tf.Tensor3D, counts: readonly number[], opts: { transposeB?: boolean; bias?: tf.Tensor2D } = {}): tf.Tensor2D {
  const c = checkCounts("groupedMatMul", a.shape[0], counts);
  const [E, k0, k1] = b.shape;
  const [K, M] = opts.transposeB ? [k1, k0] : [k0, k1];
  if (E !== c.length || K !== a.shape[1]) throw new ShapeError("groupedMatMul b", [c.length, a.shape[1], opts.transposeB ? "M" : "K"], b.shape);
  if (opts.bias && (opts.bias.shape[0] !== E || opts.bias.shape[1] !== M)) throw new ShapeError("groupedMatMul bias", [E, M], opts.bias.shape);
  return tf.tidy(() => {
    if (groupedKernelsActive()) {
      const bb = opts.transposeB ? tf.transpose(b, [0, 2, 1]) : b;
      const inputs: tf.NamedTensorMap = opts.bias ? { a, b: bb, bias: opts.bias } : { a, b: bb };
      return tf.engine().runKernel(GROUPED_MATMUL, inputs, { counts: c, mode: "rows" } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
    }
    // Empty groups are zeros of their own: autodiff of ops on [0, M] tensors fails in tfjs.
    const parts = splitGroups(a, c).map((ae, e) => {
      if (c[e] === 0) return tf.zeros([0, M]);
      const y = tf.matMul(ae as tf.Tensor2D, tf.squeeze(tf.slice(b, e, 1), [0]) as tf.Tensor2D, false, opts.transposeB);
      return opts.bias ? tf.add(y, tf.slice(opts.bias, e, 1)) : y;
    });
    return tf.concat(parts, 0) as tf.Tensor2D;
  });
}

/**
 * Per-group inner products `out[e] = a[group e]ᵀ · b[group e]` (the weight
 * gradient of `groupedMatMul`); an empty group gives zeros. Differentiable.
 * @param a [N, K] @param b [N, M] @returns [E, K, M]
 */
export function groupedInnerProducts(a: tf.Tensor2D, b: tf.Tensor2D, counts: readonly number[]): tf.Tensor3D {
  const c = checkCounts("groupedInnerProducts", a.shape[0], counts);
  if (b.shape[0] !== a.shape[0]) throw new ShapeError("groupedInnerProducts b", [a.shape[0], null], b.shape);
  return tf.tidy(() => {
    if (groupedKernelsActive()) return tf.engine().runKernel(GROUPED_MATMUL, { a, b }, { counts: c, mode: "inner" } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
    const bs = splitGroups(b, c);
    return tf.stack(splitGroups(a, c).map((ae, e) => (c[e] === 0 ? tf.zeros([a.shape[1], b.shape[1]]) : tf.matMul(ae as tf.Tensor2D, bs[e] as tf.Tensor2D, true, false)))) as tf.Tensor3D;
  });
}

/** Column sums of each group of rows (the bias gradient of `groupedMatMul`): [N, M] → [E, M]. Differentiable. */
export function segmentSum(x: tf.Tensor2D, counts: readonly number[]): tf.Tensor2D {
  const c = checkCounts("segmentSum", x.shape[0], counts);
  return tf.tidy(() => {
    if (groupedKernelsActive()) return tf.engine().runKernel(SEGMENT_SUM, { x }, { counts: c } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
    return tf.stack(splitGroups(x, c).map((g, e) => (c[e] === 0 ? tf.zeros([x.shape[1]]) : tf.sum(g, 0)))) as tf.Tensor2D;
  });
}
