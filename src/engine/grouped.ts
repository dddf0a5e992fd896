import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../errors.js";
import { transposeInto, type WasmHeapBackend } from "./kernels.js";
import { productThreads, viewProduct, type WasmBackend } from "./matmul.js";

/*
 * Grouped ("ragged") products for mixtures of experts: the rows of one [N, K]
 * matrix are split into E consecutive groups of `counts[e]` rows, group e
 * belonging to expert e. A padded [E, C, K] layout runs every expert over C
 * rows whatever its load; with capacity factor 1.25 that is a quarter more
 * product, activation and gradient work than the tokens need. Here each
 * group is one XNNPACK product on views of the wasm heap (no copies), and
 * the groups' sizes may change from call to call.
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
    productThreads(largest * K * M, () => {
      for (let e = 0; e < E; e++) {
        if (counts[e]! > 0) viewProduct(backend, aOff + off[e]! * K * 4, bOff + e * K * M * 4, oOff + off[e]! * M * 4, counts[e]!, K, M);
      }
    });
    if (bias) {
      // After the products, in float32 as a separate add would round (XNNPACK's own bias would start its sums from it).
      const ys = backend.typedArrayFromHeap(out) as Float32Array;
      const bs = backend.typedArrayFromHeap(bias) as Float32Array;
      for (let e = 0; e < E; e++) {
        for (let r = off[e]!; r < off[e + 1]!; r++) for (let j = 0, o = r * M, bo = e * M; j < M; j++) ys[o + j]! += bs[bo + j]!;
      }
    }
    return out;
  }
  // inner: out[e] = a_eᵀ·b_e. Each group of a is transposed into its own [K, n_e] block first.
  const out = backend.makeOutput([E, K, M], "float32");
  const at = backend.makeOutput([off[E]! * K], "float32");
  try {
    const src = backend.typedArrayFromHeap(a);
    const dst = backend.typedArrayFromHeap(at);
    for (let e = 0; e < E; e++) {
      if (counts[e]! > 0) transposeInto(src.subarray(off[e]! * K, off[e + 1]! * K), [counts[e]!, K], [1, 0], dst.subarray(off[e]! * K, off[e + 1]! * K));
    }
    const os = backend.typedArrayFromHeap(out) as Float32Array;
    for (let e = 0; e < E; e++) if (counts[e] === 0) os.fill(0, e * K * M, (e + 1) * K * M);
    const [tOff, bOff, oOff] = [at, b, out].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number, number];
    productThreads(largest * K * M, () => {
      for (let e = 0; e < E; e++) {
        if (counts[e]! > 0) viewProduct(backend, tOff + off[e]! * K * 4, bOff + off[e]! * M * 4, oOff + e * K * M * 4, K, counts[e]!, M);
      }
    });
  } finally {
    backend.disposeData(at.dataId);
  }
  return out;
}

/** Column sums of each group of rows, [N, M] → [E, M], in float64 row by row (as the engine's `Sum` over a middle axis). */
function segmentSumKernel(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { counts } = args.attrs as unknown as { counts: number[] };
  const backend = args.backend as unknown as Backend;
  const M = x.shape[1]!;
  const out = backend.makeOutput([counts.length, M], "float32");
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const os = backend.typedArrayFromHeap(out) as Float32Array;
  const acc = new Float64Array(M);
  let r = 0;
  counts.forEach((c, e) => {
    acc.fill(0);
    for (const end = r + c; r < end; r++) for (let j = 0, o = r * M; j < M; j++) acc[j] += xs[o + j]!;
    os.set(acc, e * M);
  });
  return out;
}

let installed = false;

/** Registers the grouped kernels on the wasm backend (idempotent; before `installThreadPolicy`). */
export function installGroupedKernels(): void {
  if (installed || !tf.findBackend("wasm")) return;
  installed = true;
  tf.registerKernel({ kernelName: GROUPED_MATMUL, backendName: "wasm", kernelFunc: groupedKernel });
  tf.registerKernel({ kernelName: SEGMENT_SUM, backendName: "wasm", kernelFunc: segmentSumKernel });
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
 * plus `bias[e]` when given. Not differentiable by itself (a building block
 * for layers with their own gradients, e.g. `moe/grouped.ts`).
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
    const parts = splitGroups(a, c).map((ae, e) => {
      const y = tf.matMul(ae as tf.Tensor2D, tf.squeeze(tf.slice(b, e, 1), [0]) as tf.Tensor2D, false, opts.transposeB);
      return opts.bias ? tf.add(y, tf.slice(opts.bias, e, 1)) : y;
    });
    return tf.concat(parts, 0) as tf.Tensor2D;
  });
}

/**
 * Per-group inner products `out[e] = a[group e]ᵀ · b[group e]` (the weight
 * gradient of `groupedMatMul`); an empty group gives zeros.
 * @param a [N, K] @param b [N, M] @returns [E, K, M]
 */
export function groupedInnerProducts(a: tf.Tensor2D, b: tf.Tensor2D, counts: readonly number[]): tf.Tensor3D {
  const c = checkCounts("groupedInnerProducts", a.shape[0], counts);
  if (b.shape[0] !== a.shape[0]) throw new ShapeError("groupedInnerProducts b", [a.shape[0], null], b.shape);
  return tf.tidy(() => {
    if (groupedKernelsActive()) return tf.engine().runKernel(GROUPED_MATMUL, { a, b }, { counts: c, mode: "inner" } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
    const bs = splitGroups(b, c);
    return tf.stack(splitGroups(a, c).map((ae, e) => tf.matMul(ae as tf.Tensor2D, bs[e] as tf.Tensor2D, true, false))) as tf.Tensor3D;
  });
}

/** Column sums of each group of rows (the bias gradient of `groupedMatMul`): [N, M] → [E, M]. */
export function segmentSum(x: tf.Tensor2D, counts: readonly number[]): tf.Tensor2D {
  const c = checkCounts("segmentSum", x.shape[0], counts);
  return tf.tidy(() => {
    if (groupedKernelsActive()) return tf.engine().runKernel(SEGMENT_SUM, { x }, { counts: c } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
    return tf.stack(splitGroups(x, c).map((g) => tf.sum(g, 0))) as tf.Tensor2D;
  });
}
