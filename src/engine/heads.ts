import * as tf from "@tensorflow/tfjs";
import type { WasmHeapBackend } from "./kernels.js";
import { backendMemory, rowCopySimd, transposeSimd, type RowCopySimd, type SimdBackend, type TransposeSimd } from "./simd.js";

/*
 * Self-attention's change of layout, as one pass over the wasm heap each way.
 * The packed projection [N, L, 3E] (q | k | v, each E = H·d wide with the
 * heads side by side) becomes q [N, H, L, d] (times the logit scale),
 * kᵀ [N, H, d, L] and v [N, H, L, d]: the operands of q·kᵀ and w·v exactly as
 * the products take them, so no transpose is left around them. Op by op this
 * is three head transposes plus the product's own transpose of k forward,
 * and as many again backward, plus a logit scaling each way.
 */

const SPLIT = "NeurocodeSplitHeads";
const MERGE = "NeurocodeMergeHeadGrads";

/** Kernel attributes of both passes. */
interface HeadAttrs {
  heads: number;
  scale: number;
}

type Args = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs: HeadAttrs };

/**
 * Moves every element between the packed layout and the per-head ones, in
 * the direction `toHeads` (forward: q = packed·scale, kᵀ, v) or back
 * (backward: packed = dq·scale, dkᵀ, dv). One loop nest for both: a callback
 * per row instead would cost 1.7x.
 */
function shuffle(packed: Float32Array, q: Float32Array, kT: Float32Array, v: Float32Array, shape: [number, number, number, number], scale: number, toHeads: boolean): void {
  const [N, L, H, d] = shape;
  const E = H * d;
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      const head = (n * H + h) * L * d; // this head's [L, d] block, and its [d, L] block
      for (let l = 0; l < L; l++) {
        const p = (n * L + l) * 3 * E + h * d; // q's row in the packed layout; k and v follow at +E, +2E
        const o = head + l * d;
        const t = head + l; // kᵀ's column: elements L apart
        if (toHeads) {
          for (let c = 0; c < d; c++) {
            q[o + c] = packed[p + c]! * scale;
            kT[t + c * L] = packed[p + E + c]!;
            v[o + c] = packed[p + 2 * E + c]!;
          }
        } else {
          for (let c = 0; c < d; c++) {
            packed[p + c] = q[o + c]! * scale;
            packed[p + E + c] = kT[t + c * L]!;
            packed[p + 2 * E + c] = v[o + c]!;
          }
        }
      }
    }
  }
}

/** The SIMD passes on the backend's memory (null: not available). */
let simd: { rows: RowCopySimd; transpose: TransposeSimd } | null | undefined;

/**
 * The SIMD passes when they fit these shapes (kᵀ's blocks transpose by 16
 * rows), else null: the JS loop runs. Scaled row copies for q and v, a strided
 * batched transpose for k.
 */
function simdFor(backend: SimdBackend, L: number, d: number): typeof simd {
  if (simd === undefined) {
    const memory = backendMemory(backend);
    const rows = memory && rowCopySimd(memory);
    const transpose = memory && transposeSimd(memory);
    simd = rows && transpose ? { rows, transpose } : null;
  }
  return L % 16 === 0 && d % 16 === 0 ? simd : null;
}

/** `shuffle` in SIMD, on byte offsets of the four tensors. */
function simdShuffle(fast: NonNullable<typeof simd>, packed: number, q: number, kT: number, v: number, shape: [number, number, number, number], scale: number, toHeads: boolean): void {
  const [N, L, H, d] = shape;
  const E = H * d;
  const row = 12 * E; // bytes from one packed row to the next
  for (let n = 0; n < N; n++) {
    const base = packed + 4 * n * L * 3 * E;
    for (let h = 0; h < H; h++) {
      const head = 4 * (n * H + h) * L * d;
      const p = base + 4 * h * d;
      if (toHeads) {
        fast.rows(p, q + head, L, d, row, 4 * d, scale);
        fast.rows(p + 8 * E, v + head, L, d, row, 4 * d, 1);
      } else {
        fast.rows(q + head, p, L, d, 4 * d, row, scale);
        fast.rows(v + head, p + 8 * E, L, d, 4 * d, row, 1);
      }
    }
    const heads = kT + 4 * n * H * d * L;
    if (toHeads) fast.transpose(base + 4 * E, heads, H, L, d, row, 4 * d, 4 * L, 4 * d * L);
    else fast.transpose(heads, base + 4 * E, H, d, L, 4 * L, 4 * d * L, row, 4 * d);
  }
}

function splitKernel(args: Args): tf.TensorInfo[] {
  const { qkv } = args.inputs as { qkv: tf.TensorInfo };
  const H = args.attrs.heads;
  const [N, L, E3] = qkv.shape as [number, number, number];
  const d = E3 / 3 / H;
  const backend = args.backend as WasmHeapBackend & SimdBackend;
  const outs = [backend.makeOutput([N, H, L, d], "float32"), backend.makeOutput([N, H, d, L], "float32"), backend.makeOutput([N, H, L, d], "float32")];
  const fast = simdFor(backend, L, d);
  if (fast) {
    const [q, kT, v] = outs.map((t) => backend.getMemoryOffset(t.dataId)) as [number, number, number];
    simdShuffle(fast, backend.getMemoryOffset(qkv.dataId), q, kT, v, [N, L, H, d], Math.fround(args.attrs.scale), true);
    return outs;
  }
  // Heap views only after allocating: growing wasm memory detaches older views.
  const [q, kT, v] = outs.map((t) => backend.typedArrayFromHeap(t) as Float32Array) as [Float32Array, Float32Array, Float32Array];
  // The scale is a float32 scalar, as tf.mul would use.
  shuffle(backend.typedArrayFromHeap(qkv) as Float32Array, q, kT, v, [N, L, H, d], Math.fround(args.attrs.scale), true);
  return outs;
}

function mergeKernel(args: Args): tf.TensorInfo {
  const { dq, dkT, dv } = args.inputs as Record<"dq" | "dkT" | "dv", tf.TensorInfo>;
  const [N, H, L, d] = dq.shape as [number, number, number, number];
  const backend = args.backend as WasmHeapBackend & SimdBackend;
  const out = backend.makeOutput([N, L, 3 * H * d], "float32");
  const fast = simdFor(backend, L, d);
  if (fast) {
    const [gq, gk, gv] = [dq, dkT, dv].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number, number];
    simdShuffle(fast, backend.getMemoryOffset(out.dataId), gq, gk, gv, [N, L, H, d], Math.fround(args.attrs.scale), false);
    return out;
  }
  const [gq, gk, gv] = [dq, dkT, dv].map((t) => backend.typedArrayFromHeap(t) as Float32Array) as [Float32Array, Float32Array, Float32Array];
  shuffle(backend.typedArrayFromHeap(out) as Float32Array, gq, gk, gv, [N, L, H, d], Math.fround(args.attrs.scale), false);
  return out;
}

let installed = false;

/** Registers the two passes and the gradient linking them on the wasm backend (idempotent). */
export function installHeadKernels(): void {
  if (installed || !tf.findBackend("wasm")) return;
  installed = true;
  tf.registerKernel({ kernelName: SPLIT, backendName: "wasm", kernelFunc: splitKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: MERGE, backendName: "wasm", kernelFunc: mergeKernel as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: SPLIT,
    // Autodiff passes zeros for an output that does not reach the loss.
    gradFunc: (dy, _saved, attrs) => {
      const [dq, dkT, dv] = dy as tf.Tensor[];
      return { qkv: () => tf.engine().runKernel(MERGE, { dq: dq!, dkT: dkT!, dv: dv! }, attrs) as tf.Tensor };
    },
  });
}

/**
 * Splits a packed self-attention projection into per-head operands.
 * @param qkv [N, L, 3·H·d] float32: queries, keys, values, each with the H heads side by side
 * @param heads H
 * @param scale multiplies the queries (the logit scale, usually 1/√d)
 * @returns q [N, H, L, d] (scaled), kᵀ [N, H, d, L], v [N, H, L, d]; differentiable.
 * One kernel each way on wasm; reshapes, transposes and a product elsewhere.
 */
export function splitHeads(qkv: tf.Tensor, heads: number, scale: number): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (installed && tf.getBackend() === "wasm" && qkv.dtype === "float32") {
    return tf.engine().runKernel(SPLIT, { qkv }, { heads, scale } as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
  }
  return tf.tidy(() => {
    const [N, L, E3] = qkv.shape as [number, number, number];
    const parts = tf.unstack(qkv.reshape([N, L, 3, heads, E3 / 3 / heads]).transpose([2, 0, 3, 1, 4]));
    return [tf.mul(parts[0]!, scale), parts[1]!.transpose([0, 1, 3, 2]), parts[2]!] as [tf.Tensor, tf.Tensor, tf.Tensor];
  });
}
