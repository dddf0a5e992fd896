import * as tf from "@tensorflow/tfjs";
import { singleThreaded } from "./wasm-threads.js";

/*
 * Fast matrix products on the wasm backend, behind the public `tf.matMul`.
 *
 * The stock wasm `BatchMatMul` kernel uses XNNPACK only for a single,
 * untransposed product; transposed operands and batches fall back to a scalar
 * loop that is 4-15x slower (2048x128·128x512: 20 ms plain, 119 ms transposeB,
 * 384 ms transposeA; 32 × 64x128·128x64: 12 ms). Every backward pass needs
 * transposed operands and attention needs batches, so this override:
 *  1. materialises transposes with the Transpose kernel (a few ms at most);
 *  2. folds a batch against a shared right operand into one tall product;
 *  3. runs a true batch as one XNNPACK product per matrix, on views into the
 *     operands' and the output's wasm memory (no copies);
 *  4. never lets XNNPACK's operator cache (keyed by tensor id, not shape) see
 *     a reshaped alias of a tensor it has packed before;
 *  5. keeps a packed right operand for as long as its data lives when it is a
 *     whole tensor used as is (weights in inference, a recurrent weight across
 *     time steps): repacking a 256×1024 weight costs about as much as a
 *     64-row product with it.
 */

type KernelArgs = Parameters<tf.KernelConfig["kernelFunc"]>[0];
type Info = tf.TensorInfo;

/** The parts of tfjs-backend-wasm's BackendWasm this file relies on. */
export interface WasmBackend {
  dataIdNextNumber: number;
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  getMemoryOffset(dataId: object): number;
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...a: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
}

let original: tf.KernelConfig | null = null;
let wasmMatMul: ((...a: unknown[]) => void) | null = null;

function runKernel(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap, args: KernelArgs): Info {
  return tf.getKernel(name, "wasm").kernelFunc({ inputs, backend: args.backend, attrs }) as Info;
}

function transposeLast2(x: Info, args: KernelArgs): Info {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return runKernel("Transpose", { x }, { perm }, args);
}

/** A shape as the bytes of an int32 array, as the wasm kernels take it. */
export function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

function prod(xs: number[]): number {
  return xs.reduce((p, d) => p * d, 1);
}

function fastBatchMatMul(args: KernelArgs): Info {
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const backend = args.backend as unknown as WasmBackend;
  const { a: a0, b: b0 } = args.inputs as { a: Info; b: Info };
  if (transposeA && !transposeB && swapOperands(a0.shape, b0.shape)) {
    // Aᵀ·B = (Bᵀ·A)ᵀ, with A as the right operand that XNNPACK packs.
    const bt = transposeLast2(b0, args);
    try {
      const ct = plainProduct(backend, bt, a0, true, args);
      try {
        return transposeLast2(ct, args);
      } finally {
        backend.disposeData(ct.dataId);
      }
    } finally {
      backend.disposeData(bt.dataId);
    }
  }
  const a = transposeA ? transposeLast2(a0, args) : a0;
  const b = transposeB ? transposeLast2(b0, args) : b0;
  try {
    return plainProduct(backend, a, b, b === b0, args);
  } finally {
    if (a !== a0) backend.disposeData(a.dataId);
    if (b !== b0) backend.disposeData(b.dataId);
  }
}

/**
 * For Aᵀ·B with A [..., K, M] and B [..., K, N]: whether (Bᵀ·A)ᵀ is cheaper.
 * XNNPACK packs its right operand at ~5 ns per element, several times what a
 * SIMD transpose costs, so small products pack the smaller operand (attention's
 * key gradient qᵀ·dS, 128 × [64, 32]ᵀ·[64, 64]: 4.9 → 2.9 ms). Long products
 * (K = 2048 rows, weight gradients) are ruled by XNNPACK's speed on the two
 * shapes instead: the swap pays when B and the result are fewer elements to
 * move than A (a widening layer's dyᵀ·x, [2048, 512]ᵀ·[2048, 128]: 14 → 8 ms).
 */
function swapOperands(aShape: number[], bShape: number[]): boolean {
  const [K, M] = aShape.slice(-2) as [number, number];
  const N = bShape[bShape.length - 1]!;
  return N * (K + M) < K * M || (K <= 256 && N > M);
}

/**
 * a·b for untransposed operands (batch dims broadcast). `keepB`: b is a whole
 * tensor as the caller holds it, so its packing may be kept (see `products`).
 */
function plainProduct(backend: WasmBackend, a: Info, b: Info, keepB: boolean, args: KernelArgs): Info {
  const [M, K] = a.shape.slice(-2) as [number, number];
  const N = b.shape[b.shape.length - 1]!;
  const batchA = prod(a.shape.slice(0, -2));
  const batchB = prod(b.shape.slice(0, -2));
  const outShape = [...tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)), M, N];
  const batch = prod(outShape.slice(0, -2));
  // A batch against one right operand is one tall product.
  if (batchB === 1) return products(backend, a, b, 1, false, batchA * M, K, N, outShape, keepB);
  if ((batchA === 1 || batchA === batch) && batchB === batch) return products(backend, a, b, batch, batchA === 1, M, K, N, outShape);
  // Partial broadcasting of batch dims (rare): the stock kernel handles it.
  return original!.kernelFunc({ ...args, inputs: { a, b }, attrs: { ...args.attrs, transposeA: false, transposeB: false } }) as Info;
}

/**
 * Multiply-adds per product below which it runs on the calling thread alone.
 * A product this small takes 0.1-0.3 ms on one thread; waking the pool after
 * single-threaded kernels costs as much (an MoE router's [2048, 128]·[128, 8]:
 * 0.16 ms alone, 0.2-0.9 ms pooled, 1.3 ms in a training step's profile).
 */
export const SMALL_PRODUCT = 1 << 22;

/**
 * `batch` XNNPACK products out[i] = a[i or 0]·b[i], each on fresh tensor ids that
 * view the operands' and output's wasm memory. Fresh ids matter: the wasm
 * backend caches the packed right operand by tensor id alone, so reusing an id
 * under another shape (as a reshape alias does) would read stale weights;
 * unregistering the views frees the cached operators and nothing else.
 */
function products(backend: WasmBackend, a: Info, b: Info, batch: number, shareA: boolean, M: number, K: number, N: number, outShape: number[], keepB = false): Info {
  const out = backend.makeOutput(outShape, "float32");
  if (M * N === 0) return out;
  const aOff = backend.getMemoryOffset(a.dataId);
  const bOff = backend.getMemoryOffset(b.dataId);
  const oOff = backend.getMemoryOffset(out.dataId);
  productThreads(M * K * N, () => {
    for (let i = 0; i < batch; i++) {
      const bId = keepB ? keptOperandId(backend, b.dataId, K, N, bOff) : undefined;
      viewProduct(backend, aOff + (shareA ? 0 : i * M * K * 4), bOff + i * K * N * 4, oOff + i * M * N * 4, M, K, N, bId);
    }
  });
  return out;
}

/**
 * One XNNPACK product out = a·b, [M, K]·[K, N] → [M, N], on fresh tensor ids
 * viewing the wasm heap at byte offsets `aOff`, `bOff`, `oOff` (or on the kept
 * right operand id `bId`). The views are unregistered afterwards.
 */
export function viewProduct(backend: WasmBackend, aOff: number, bOff: number, oOff: number, M: number, K: number, N: number, bId?: number): void {
  wasmMatMul ??= backend.wasm.cwrap("BatchMatMul", null, ["number", "array", "number", "number", "array", "number", "number", "number", "number"]);
  const reg = backend.wasm.tfjs;
  const ids = [backend.dataIdNextNumber++, backend.dataIdNextNumber++, backend.dataIdNextNumber++] as const;
  reg.registerTensor(ids[0], M * K, aOff);
  if (bId === undefined) reg.registerTensor(ids[1], K * N, bOff);
  reg.registerTensor(ids[2], M * N, oOff);
  wasmMatMul(ids[0], shapeBytes([1, M, K]), 3, bId ?? ids[1], shapeBytes([1, K, N]), 3, false, false, ids[2]);
  reg.disposeData(ids[0]);
  if (bId === undefined) reg.disposeData(ids[1]);
  reg.disposeData(ids[2]);
}

/**
 * Runs `fn`, a run of products of about `work` multiply-adds each, on the
 * thread pool only when they are large: waking the pool costs more than it
 * saves on small products (measured: 128 products of 64×64·64×32 took 63 ms
 * on two threads, 7 ms on one).
 */
export function productThreads<T>(work: number, fn: () => T): T {
  return work < SMALL_PRODUCT ? singleThreaded(fn) : fn();
}

/** Ids under which whole right operands stay packed, by their data and [K, N] (a reshape shares the data). */
const kept = new Map<object, Map<string, number>>();
let releaseHooked = false;

/**
 * The id of `dataId`'s data seen as a [K, N] right operand, registered on
 * first use. The registration (and XNNPACK's packed copy) is released when the
 * backend frees the data, so an id never outlives the memory it views.
 */
export function keptOperandId(backend: WasmBackend, dataId: object, K: number, N: number, offset: number): number {
  if (!releaseHooked) {
    releaseHooked = true;
    const dispose = backend.disposeData.bind(backend);
    backend.disposeData = (id: object, force?: boolean): boolean => {
      const freed = dispose(id, force);
      const views = freed ? kept.get(id) : undefined;
      if (views) {
        for (const v of views.values()) backend.wasm.tfjs.disposeData(v);
        kept.delete(id);
      }
      return freed;
    };
  }
  let views = kept.get(dataId);
  if (!views) kept.set(dataId, (views = new Map()));
  const key = `${K},${N}`;
  let id = views.get(key);
  if (id === undefined) {
    id = backend.dataIdNextNumber++;
    backend.wasm.tfjs.registerTensor(id, K * N, offset);
    views.set(key, id);
  }
  return id;
}

/**
 * Replaces the wasm `BatchMatMul` kernel with the fast version above.
 * Idempotent; a no-op when the wasm backend is not registered.
 */
export function installFastMatMul(): void {
  if (original) return;
  const k = tf.getKernel("BatchMatMul", "wasm");
  if (!k) return;
  original = k;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ kernelName: "BatchMatMul", backendName: "wasm", kernelFunc: fastBatchMatMul });
}

/** Restores tfjs's own wasm `BatchMatMul` kernel (for benchmarks and tests). */
export function removeFastMatMul(): void {
  if (!original) return;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel(original);
  original = null;
}
