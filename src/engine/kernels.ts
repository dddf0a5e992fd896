import * as tf from "@tensorflow/tfjs";
import { backendMemory, transposeSimd, type SimdBackend, type TransposeSimd } from "./simd.js";

/*
 * Faster replacements for two wasm kernels that a transformer's backward pass
 * leans on, registered under the same kernel names so all tfjs ops use them:
 *
 * - Transpose: the stock kernel is a generic scalar loop (≈16 ns/element);
 *   this one walks the output in order with cache-blocked inner loops in JS on
 *   the wasm heap (3x faster on 2048x512), and copies rows when the innermost
 *   axis stays innermost.
 * - Slice and Unpack: the stock kernels copy the whole input out of the wasm
 *   heap (readSync) before slicing; these copy only the slice, heap to heap.
 * - Identity: the stock kernel copies; tfjs clones every tensor it saves for
 *   the backward pass, so a training step made hundreds of copies. tfjs
 *   tensors are immutable, so sharing the data (as Reshape does) is safe.
 * - SplitV: per piece, copy only that piece (the stock path copies the input
 *   out of the heap for each piece).
 * - GatherV2 (embedding lookups, MoE dispatch): the stock kernel moves
 *   ~10-20 M floats/s; this one copies whole rows heap to heap.
 * - Sum over leading or middle axes (every bias gradient: [rows, out] → [out],
 *   [experts, slots, out] → [experts, out]): the stock
 *   kernel transposes the input first (44 ms for 2048x512 under load); one
 *   streaming pass with a float64 accumulator needs no transpose.
 * - Tile (and so broadcastTo): the stock kernel computes every output
 *   element's source index (~90 ns per element: 2.8 ms to repeat a [16, 256]
 *   block 8 times); this one copies source rows and then doubles whole blocks.
 * - Equal of a tensor with itself reduced over its last axis ([..., n] vs
 *   [..., 1], the gradient of every `max`, e.g. in logsumexp): the stock
 *   kernel's broadcasting path costs ~130 ns per element (2 ms for 2048x8).
 */

type KernelArgs = Parameters<tf.KernelConfig["kernelFunc"]>[0];
type Info = tf.TensorInfo;
export type Heap = Float32Array | Int32Array | Uint8Array;

export interface WasmHeapBackend {
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(t: Info): Heap;
  disposeData(dataId: object): boolean;
}

const originals = new Map<string, tf.KernelConfig>();

/** Row-major strides of `shape`. */
function stridesOf(shape: number[]): number[] {
  const st = new Array<number>(shape.length);
  for (let i = shape.length - 1, s = 1; i >= 0; i--) (st[i] = s), (s *= shape[i]!);
  return st;
}

/**
 * Copies the strided view of `src` starting at element `base`, with shape
 * `outShape` and per-axis element strides `st`, into `dst` in row-major order.
 * Contiguous inner rows are copied directly, strided ones in 32x32 cache blocks.
 */
export function copyStrided(src: Heap, base: number, outShape: number[], st: number[], dst: Heap): void {
  const r = outShape.length;
  if (r === 0) {
    dst[0] = src[base]!;
    return;
  }
  if (r === 1) {
    for (let j = 0; j < outShape[0]!; j++) dst[j] = src[base + j * st[0]!]!;
    return;
  }
  const rows = outShape[r - 2]!;
  const cols = outShape[r - 1]!;
  const sr = st[r - 2]!;
  const sc = st[r - 1]!;
  const outer = outShape.slice(0, r - 2);
  const nOuter = outer.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(outer.length).fill(0);
  let o = 0;
  const B = 32;
  for (let n = 0; n < nOuter; n++) {
    if (sc === 1 && cols >= 256) {
      for (let i = 0; i < rows; i++, o += cols) dst.set(src.subarray(base + i * sr, base + i * sr + cols), o);
    } else if (sc === 1) {
      // Short rows: a plain loop beats allocating a subarray per row.
      for (let i = 0; i < rows; i++) {
        const srow = base + i * sr;
        for (let j = 0; j < cols; j++) dst[o++] = src[srow + j]!;
      }
    } else {
      for (let i0 = 0; i0 < rows; i0 += B) {
        const i1 = Math.min(rows, i0 + B);
        for (let j0 = 0; j0 < cols; j0 += B) {
          const j1 = Math.min(cols, j0 + B);
          for (let i = i0; i < i1; i++) {
            const srow = base + i * sr;
            const drow = o + i * cols;
            for (let j = j0; j < j1; j++) dst[drow + j] = src[srow + j * sc]!;
          }
        }
      }
      o += rows * cols;
    }
    for (let k = outer.length - 1; k >= 0; k--) {
      base += st[k]!;
      if (++idx[k]! < outer[k]!) break;
      base -= st[k]! * outer[k]!;
      idx[k] = 0;
    }
  }
}

/** Copies `src` (shape `shape`) into `dst` permuted by `perm` (dst axis i = src axis perm[i]). */
export function transposeInto(src: Heap, shape: number[], perm: number[], dst: Heap): void {
  const st = stridesOf(shape);
  copyStrided(src, 0, perm.map((p) => shape[p]!), perm.map((p) => st[p]!), dst);
}

/** The SIMD transpose on the backend's memory (null: not available). */
let simdTranspose: TransposeSimd | null | undefined;

/**
 * Transposes the [rows, cols] float32 matrix at byte offset `src` of the wasm
 * heap (`heap`: a view of all of it) into [cols, rows] at byte offset `dst`:
 * whole 16-row tiles with the SIMD transpose (cols a multiple of 4), the
 * remaining rows in JS. For row counts that are not tile multiples, such as
 * one expert's share of a batch.
 */
export function transposeOnHeap(backend: SimdBackend, heap: Float32Array, src: number, dst: number, rows: number, cols: number): void {
  if (simdTranspose === undefined) {
    const memory = backendMemory(backend);
    simdTranspose = memory && transposeSimd(memory);
  }
  const tiled = simdTranspose && cols % 4 === 0 ? rows - (rows % 16) : 0;
  if (tiled > 0) simdTranspose!(src, dst, 1, tiled, cols, 4 * cols, 0, 4 * rows, 0);
  const s = src >> 2;
  const d = dst >> 2;
  for (let r = tiled; r < rows; r++) for (let c = 0; c < cols; c++) heap[d + c * rows + r] = heap[s + r * cols + c]!;
}

function fastTranspose(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { perm } = args.attrs as { perm: number[] };
  if (x.dtype === "string") return originals.get("Transpose")!.kernelFunc(args) as Info;
  const backend = args.backend as unknown as WasmHeapBackend & SimdBackend;
  const out = backend.makeOutput(perm.map((p) => x.shape[p]!), x.dtype);
  const r = perm.length;
  const [R, C] = x.shape.slice(-2) as [number, number];
  // The last two axes swapped (every transposed matrix product operand), 4-byte
  // elements in whole SIMD blocks: 4×4 lane shuffles in wasm, 1.7x (large) to 14x
  // (a batch of small matrices) faster than the JS loop.
  const lastTwo = r >= 2 && perm.every((p, i) => p === (i < r - 2 ? i : 2 * r - 3 - i));
  if (lastTwo && x.dtype !== "bool" && R % 16 === 0 && C % 4 === 0) {
    if (simdTranspose === undefined) {
      const memory = backendMemory(backend);
      simdTranspose = memory && transposeSimd(memory);
    }
    if (simdTranspose) {
      const batch = x.shape.slice(0, -2).reduce((a, b) => a * b, 1);
      simdTranspose(backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(out.dataId), batch, R, C, 4 * C, 4 * R * C, 4 * R, 4 * R * C);
      return out;
    }
  }
  // Heap views only after allocating: growing wasm memory detaches older views.
  transposeInto(backend.typedArrayFromHeap(x), x.shape, perm, backend.typedArrayFromHeap(out));
  return out;
}

function fastSlice(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
  if (x.dtype === "string") return originals.get("Slice")!.kernelFunc(args) as Info;
  const [b, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput(sz, x.dtype);
  const st = stridesOf(x.shape);
  if (sz.every((d) => d > 0)) {
    copyStrided(backend.typedArrayFromHeap(x), b.reduce((acc, v, i) => acc + v * st[i]!, 0), sz, st, backend.typedArrayFromHeap(out));
  }
  return out;
}

function fastUnpack(args: KernelArgs): Info[] {
  const { value } = args.inputs as { value: Info };
  const { axis } = args.attrs as { axis: number };
  if (value.dtype === "string") return originals.get("Unpack")!.kernelFunc(args) as Info[];
  const backend = args.backend as unknown as WasmHeapBackend;
  const ax = axis < 0 ? axis + value.shape.length : axis;
  const n = value.shape[ax]!;
  const st = stridesOf(value.shape);
  const outShape = value.shape.filter((_, i) => i !== ax);
  const outSt = st.filter((_, i) => i !== ax);
  const outs: Info[] = [];
  for (let i = 0; i < n; i++) {
    const out = backend.makeOutput(outShape, value.dtype);
    if (outShape.every((d) => d > 0)) copyStrided(backend.typedArrayFromHeap(value), i * st[ax]!, outShape, outSt, backend.typedArrayFromHeap(out));
    outs.push(out);
  }
  return outs;
}

function aliasIdentity(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  (args.backend as unknown as WasmHeapBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function fastSplitV(args: KernelArgs): Info[] {
  const { x } = args.inputs as { x: Info };
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  if (x.dtype === "string") return originals.get("SplitV")!.kernelFunc(args) as Info[];
  const backend = args.backend as unknown as WasmHeapBackend;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
  const st = stridesOf(x.shape);
  let start = 0;
  return sizes.map((size) => {
    const shape = x.shape.map((d, i) => (i === ax ? size : d));
    const out = backend.makeOutput(shape, x.dtype);
    if (shape.every((d) => d > 0)) copyStrided(backend.typedArrayFromHeap(x), start * st[ax]!, shape, st, backend.typedArrayFromHeap(out));
    start += size;
    return out;
  });
}

function fastGather(args: KernelArgs): Info {
  const { x, indices } = args.inputs as { x: Info; indices: Info };
  const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
  if (x.dtype === "string" || batchDims) return originals.get("GatherV2")!.kernelFunc(args) as Info;
  const backend = args.backend as unknown as WasmHeapBackend;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const n = x.shape[ax]!;
  const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const idx = backend.typedArrayFromHeap(indices) as Int32Array;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i]! < 0 || idx[i]! >= n) throw new Error(`GatherV2: index ${idx[i]} is not in [0, ${n})`);
  }
  const m = idx.length;
  const out = backend.makeOutput([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
  const xs = backend.typedArrayFromHeap(x);
  const ys = backend.typedArrayFromHeap(out);
  const ids = backend.typedArrayFromHeap(indices) as Int32Array;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const src = (o * n + ids[i]!) * inner;
      const dst = (o * m + i) * inner;
      if (inner >= 64) ys.set(xs.subarray(src, src + inner), dst);
      else for (let j = 0; j < inner; j++) ys[dst + j] = xs[src + j]!;
    }
  }
  return out;
}

function fastEqual(args: KernelArgs): Info {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const r = a.shape.length;
  const rowB = r > 0 && b.shape.length === r && b.shape[r - 1] === 1 && b.shape.every((d, i) => i === r - 1 || d === a.shape[i]);
  if (!rowB || a.dtype !== b.dtype || a.dtype === "string") return originals.get("Equal")!.kernelFunc(args) as Info;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput(a.shape, "bool");
  const as = backend.typedArrayFromHeap(a);
  const bs = backend.typedArrayFromHeap(b);
  const os = backend.typedArrayFromHeap(out);
  const n = a.shape[r - 1]!;
  for (let row = 0; row < bs.length; row++) {
    const v = bs[row]!;
    for (let j = 0, o = row * n; j < n; j++) os[o + j] = as[o + j] === v ? 1 : 0;
  }
  return out;
}

function fastSum(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
  const r = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  // A contiguous block of axes short of the last one: x is [A, R, B], summed over R.
  const block = axes.length > 0 && axes[axes.length - 1]! < r - 1 && axes.every((a, i) => a === axes[0]! + i);
  if (!block || x.dtype !== "float32") return originals.get("Sum")!.kernelFunc(args) as Info;
  const backend = args.backend as unknown as WasmHeapBackend;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  const size = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);
  const outer = size(x.shape.slice(0, first));
  const rows = size(x.shape.slice(first, last + 1));
  const cols = size(x.shape.slice(last + 1));
  const outShape = keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : [...x.shape.slice(0, first), ...x.shape.slice(last + 1)];
  const out = backend.makeOutput(outShape, "float32");
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const os = backend.typedArrayFromHeap(out) as Float32Array;
  // Rows into a float64 accumulator, four at a time (a quarter of the accumulator
  // traffic: 2048x512 3.2 → 1.1 ms): streams memory once, no transpose.
  const acc = new Float64Array(cols);
  for (let a = 0; a < outer; a++) {
    acc.fill(0);
    let i = 0;
    for (; i + 4 <= rows; i += 4) {
      const o = (a * rows + i) * cols;
      for (let j = o; j < o + cols; j++) acc[j - o] += xs[j]! + xs[j + cols]! + (xs[j + 2 * cols]! + xs[j + 3 * cols]!);
    }
    for (; i < rows; i++) {
      const o = (a * rows + i) * cols;
      for (let j = 0; j < cols; j++) acc[j] += xs[o + j]!;
    }
    os.set(acc, a * cols);
  }
  return out;
}

/**
 * Writes `src` (shape `shape`) tiled `reps` times per axis into `dst`: the
 * source rows of each block are copied, then the filled block is repeated
 * along its axis by block copies (copyWithin), innermost axis first.
 */
export function tileInto(src: Heap, shape: number[], reps: number[], dst: Heap): void {
  const r = shape.length;
  const srcStride = stridesOf(shape);
  const outStride = stridesOf(shape.map((d, i) => d * reps[i]!));
  const fill = (axis: number, so: number, o: number): void => {
    const n = shape[axis]!;
    if (axis === r - 1) {
      for (let k = 0; k < reps[axis]!; k++) {
        const d = o + k * n;
        if (n >= 64) dst.set(src.subarray(so, so + n), d);
        else for (let j = 0; j < n; j++) dst[d + j] = src[so + j]!;
      }
      return;
    }
    for (let i = 0; i < n; i++) fill(axis + 1, so + i * srcStride[axis]!, o + i * outStride[axis]!);
    const block = n * outStride[axis]!;
    for (let k = 1; k < reps[axis]!; k++) dst.copyWithin(o + k * block, o, o + block);
  };
  if (r === 0 || shape.some((d) => d === 0)) {
    if (r === 0) dst[0] = src[0]!;
    return;
  }
  fill(0, 0, 0);
}

function fastTile(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { reps } = args.attrs as { reps: number[] };
  if (x.dtype === "string") return originals.get("Tile")!.kernelFunc(args) as Info;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput(x.shape.map((d, i) => d * reps[i]!), x.dtype);
  tileInto(backend.typedArrayFromHeap(x), x.shape, reps, backend.typedArrayFromHeap(out));
  return out;
}

/** Registers the kernels above on the wasm backend (idempotent). */
export function installFastKernels(): void {
  const kernels: [string, tf.KernelFunc][] = [
    ["Transpose", fastTranspose],
    ["Sum", fastSum],
    ["Slice", fastSlice],
    ["Unpack", fastUnpack as unknown as tf.KernelFunc],
    ["SplitV", fastSplitV as unknown as tf.KernelFunc],
    ["Identity", aliasIdentity],
    ["GatherV2", fastGather],
    ["Equal", fastEqual],
    ["Tile", fastTile],
  ];
  for (const [name, fn] of kernels) {
    if (originals.has(name)) continue;
    const k = tf.getKernel(name, "wasm");
    if (!k) continue;
    originals.set(name, k);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: fn });
  }
}

/** Restores tfjs's own wasm kernels replaced by `installFastKernels` (for benchmarks and tests). */
export function removeFastKernels(): void {
  for (const [name, k] of originals) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(k);
  }
  originals.clear();
}
