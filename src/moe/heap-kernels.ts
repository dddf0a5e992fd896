import * as tf from "@tensorflow/tfjs";
import { rowKernels, withScratch, type ListSimd, type RowBackend } from "../engine/simd-rows.js";

/*
 * MoE data movement as wasm heap kernels: the row gather of dispatch and the
 * gated combine `y[t] = Σ_j w[t, j] · out[slot(t, j)]`, one pass over the
 * rows each, reading and writing the wasm heap in place. Done with
 * `dataSync` copies and new host tensors they cost several [T·k, d] copies
 * per step plus their garbage; op by op (gather, broadcast multiply, sum and
 * their gradients) the combine was about a fifth of a small MoE step. The
 * combine's gradient is registered, so each input's is computed only when
 * autodiff needs it. Rows whose width is a multiple of 4 go through the SIMD
 * row kernels (engine/simd-rows.ts: the same float64 arithmetic in the same
 * order, bit for bit; combine and its two gradients 4.6 → 1.4 ms for 4096 rows
 * of 128); other widths through the JS loops below.
 */

type KernelArgs = Parameters<tf.KernelConfig["kernelFunc"]>[0];
type Info = tf.TensorInfo;

const COMBINE = "NeurocodeMoECombine";
const COMBINE_GRAD = "NeurocodeMoECombineGrad";
const GATHER = "NeurocodeMoEGatherRows";
const TOP_K = "NeurocodeMoETopK";
const PICK = "NeurocodeMoEPick";
const PICK_GRAD = "NeurocodeMoEPickGrad";

/** out[i] = rows[idx[i]], zeros where idx[i] ≥ the row count; idx is a host array attribute. */
function gatherKernel(args: KernelArgs): Info {
  const { rows } = args.inputs as { rows: Info };
  const { idx } = args.attrs as unknown as { idx: Int32Array };
  const backend = args.backend as unknown as RowBackend;
  const [n, d] = rows.shape as [number, number];
  const out = backend.makeOutput([idx.length, d], "float32");
  // One view of the heap and copyWithin: no subarray object per row.
  const heap = new Float32Array((backend.typedArrayFromHeap(out) as Float32Array).buffer);
  const [src, dst] = [rows, out].map((t) => backend.getMemoryOffset(t.dataId) / 4) as [number, number];
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    if (r < n) heap.copyWithin(dst + i * d, src + r * d, src + r * d + d);
    else heap.fill(0, dst + i * d, dst + i * d + d);
  }
  return out;
}

/*
 * The slots travel as an attribute (a host array), not an input: an int32
 * input derived from the router's choices would put the routing on autodiff's
 * path, and it has no gradient.
 */
interface CombineAttrs {
  /** [T·k] row of each assignment (≥ N: dropped). */
  slot: Int32Array;
}

/** y [T, d] from rows [N, d], weights [T, k] and the slots. */
function combineKernel(args: KernelArgs): Info {
  const { rows, w } = args.inputs as Record<"rows" | "w", Info>;
  const { slot } = args.attrs as unknown as CombineAttrs;
  const backend = args.backend as unknown as RowBackend;
  const [t, k] = w.shape as [number, number];
  const d = rows.shape[1]!;
  const out = backend.makeOutput([t, d], "float32");
  const ys = backend.typedArrayFromHeap(out) as Float32Array;
  ys.fill(0);
  const simd = d % 4 === 0 ? rowKernels(backend) : null;
  if (simd) gatedRows(backend, simd.axpy, out, rows, w, slot, k, false);
  else weightedRowSum(ys, backend.typedArrayFromHeap(rows) as Float32Array, backend.typedArrayFromHeap(w) as Float32Array, slot, k, d);
  return out;
}

/**
 * One SIMD row operation per kept assignment a = t·k + j, in order: token row
 * t += w[a]·expert row slot[a] (`toRows` false, the combine), or expert row
 * slot[a] = w[a]·token row t (`toRows` true, its gradient).
 */
function gatedRows(backend: RowBackend, kernel: ListSimd, tokens: Info, rows: Info, w: Info, slots: Int32Array, k: number, toRows: boolean): void {
  const [nRows, d] = rows.shape as [number, number];
  let n = 0;
  for (let a = 0; a < slots.length; a++) if (slots[a]! < nRows) n++;
  if (n === 0) return;
  const [tokOff, rowOff] = [tokens, rows].map((x) => backend.getMemoryOffset(x.dataId)) as [number, number];
  withScratch(backend, 3 * n, (ints, floats, list) => {
    const ws = backend.typedArrayFromHeap(w) as Float32Array;
    for (let a = 0, e = 0; a < slots.length; a++) {
      const s = slots[a]!;
      if (s >= nRows) continue;
      const tok = tokOff + Math.floor(a / k) * d * 4;
      const row = rowOff + s * d * 4;
      ints[3 * e] = toRows ? row : tok;
      ints[3 * e + 1] = toRows ? tok : row;
      floats[3 * e + 2] = ws[a]!;
      e++;
    }
    kernel(list, n, 4 * d);
  });
}

/** dw[a] = dy[t]·row[slot[a]] for the kept assignments, two per SIMD pass (dw pre-zeroed). */
function rowDotsSimd(backend: RowBackend, kernel: ListSimd, dw: Info, dy: Info, rows: Info, slots: Int32Array, k: number): void {
  const [nRows, d] = rows.shape as [number, number];
  let n = 0;
  for (let a = 0; a < slots.length; a++) if (slots[a]! < nRows) n++;
  if (n === 0) return;
  const [outOff, gOff, rowOff] = [dw, dy, rows].map((x) => backend.getMemoryOffset(x.dataId)) as [number, number, number];
  const pairs = Math.ceil(n / 2);
  withScratch(backend, 6 * pairs, (ints, _floats, list) => {
    // Entry p: [gA, rA, gB, rB, oA, oB]; kept assignment i is lane i % 2 of entry ⌊i/2⌋.
    for (let a = 0, i = 0; a < slots.length; a++) {
      if (slots[a]! >= nRows) continue;
      const p = 6 * (i >> 1);
      const lane = i & 1;
      ints[p + 2 * lane] = gOff + Math.floor(a / k) * d * 4;
      ints[p + 2 * lane + 1] = rowOff + slots[a]! * d * 4;
      ints[p + 4 + lane] = outOff + 4 * a;
      i++;
    }
    if (n % 2 === 1) {
      // An odd last assignment is paired with itself (its dot written twice).
      const p = 6 * (pairs - 1);
      [ints[p + 2], ints[p + 3], ints[p + 5]] = [ints[p]!, ints[p + 1]!, ints[p + 4]!];
    }
    kernel(list, pairs, 4 * d);
  });
}

/**
 * Calls `fn(a, tokenRow, slotRow)` for every assignment `a` (token ⌊a/k⌋)
 * with the element offsets of its token's row and its slot's row, or with
 * `slotRow` −1 when the slot is dropped (≥ `nRows`): the host loops below
 * differ only in what they do with the two rows.
 */
function forEachAssignment(slots: Int32Array, k: number, d: number, nRows: number, fn: (a: number, tokenRow: number, slotRow: number) => void): void {
  for (let a = 0; a < slots.length; a++) {
    const s = slots[a]!;
    fn(a, Math.floor(a / k) * d, s < nRows ? s * d : -1);
  }
}

function weightedRowSum(ys: Float32Array, rows: Float32Array, ws: Float32Array, slots: Int32Array, k: number, d: number): void {
  forEachAssignment(slots, k, d, rows.length / d, (a, yo, so) => {
    if (so < 0) return;
    const wa = ws[a]!;
    for (let i = 0; i < d; i++) ys[yo + i] = ys[yo + i]! + wa * rows[so + i]!;
  });
}

/** `which = "rows"`: d rows [N, d] = w·dy in each assigned row (each row holds at most one assignment), zero elsewhere; `"w"`: dw [T, k] = dy·row. */
function combineGradKernel(args: KernelArgs): Info {
  const { dy, rows, w } = args.inputs as Record<"dy" | "rows" | "w", Info>;
  const { which, slot: slots } = args.attrs as unknown as CombineAttrs & { which: "rows" | "w" };
  const backend = args.backend as unknown as RowBackend;
  const [t, k] = w.shape as [number, number];
  const d = rows.shape[1]!;
  const out = backend.makeOutput(which === "rows" ? rows.shape : [t, k], "float32");
  const os = backend.typedArrayFromHeap(out) as Float32Array;
  const simd = d % 4 === 0 ? rowKernels(backend) : null;
  if (simd) {
    os.fill(0);
    if (which === "rows") gatedRows(backend, simd.scale, dy, out, w, slots, k, true);
    else rowDotsSimd(backend, simd.dots, out, dy, rows, slots, k);
    return out;
  }
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  if (which === "rows") {
    os.fill(0);
    spreadRows(os, g, backend.typedArrayFromHeap(w) as Float32Array, slots, k, d);
  } else {
    rowDots(os, g, backend.typedArrayFromHeap(rows) as Float32Array, slots, k, d);
  }
  return out;
}

function spreadRows(drows: Float32Array, g: Float32Array, ws: Float32Array, slots: Int32Array, k: number, d: number): void {
  forEachAssignment(slots, k, d, drows.length / d, (a, go, so) => {
    if (so < 0) return;
    const wa = ws[a]!;
    for (let i = 0; i < d; i++) drows[so + i] = wa * g[go + i]!;
  });
}

function rowDots(dw: Float32Array, g: Float32Array, rows: Float32Array, slots: Int32Array, k: number, d: number): void {
  forEachAssignment(slots, k, d, rows.length / d, (a, go, so) => {
    let dot = 0;
    if (so >= 0) for (let i = 0; i < d; i++) dot += g[go + i]! * rows[so + i]!;
    dw[a] = dot;
  });
}

/**
 * [T, k] int32: each row's k largest scores, best first, ties to the lower
 * index (as the TopK kernel). The router's scores are [T, E] with small E, so
 * k scans of a row beat the stock kernel's sort (0.4 → 0.03 ms for 2048 × 8).
 * Scores with a NaN go to the stock kernel, whose NaN order is its own.
 */
function topKKernel(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { k } = args.attrs as unknown as { k: number };
  const backend = args.backend as unknown as RowBackend;
  const [t, e] = x.shape as [number, number];
  const scores = backend.typedArrayFromHeap(x) as Float32Array;
  let nan = false;
  for (let i = 0; i < scores.length; i++) nan ||= scores[i] !== scores[i];
  if (nan) {
    const [values, indices] = tf.getKernel("TopK", "wasm").kernelFunc({ inputs: { x }, attrs: { k, sorted: true }, backend: args.backend }) as Info[];
    backend.disposeData(values!.dataId);
    return indices!;
  }
  const out = backend.makeOutput([t, k], "int32");
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const os = backend.typedArrayFromHeap(out) as Int32Array;
  for (let r = 0; r < t; r++) {
    const o = r * e;
    for (let j = 0; j < k; j++) {
      let best = -1;
      for (let c = 0; c < e; c++) {
        if (best >= 0 && !(xs[o + c]! > xs[o + best]!)) continue;
        let taken = false;
        for (let i = 0; i < j; i++) taken ||= os[r * k + i] === c;
        if (!taken) best = c;
      }
      os[r * k + j] = best;
    }
  }
  return out;
}

/** out [T, k] = scores[t, idx[t·k + j]] (idx: a host attribute). */
function pickKernel(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { idx } = args.attrs as unknown as { idx: Int32Array };
  const backend = args.backend as unknown as RowBackend;
  const e = x.shape[1]!;
  const k = idx.length / x.shape[0]!;
  const out = backend.makeOutput([x.shape[0]!, k], "float32");
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const os = backend.typedArrayFromHeap(out) as Float32Array;
  for (let a = 0; a < idx.length; a++) os[a] = xs[Math.floor(a / k) * e + idx[a]!]!;
  return out;
}

/**
 * d scores [T, E] from dy [T, k], exactly as autodiff of Σ_e scores·onehot
 * gives it: per (t, e) the products dy[t, j]·[idx = e] summed over j in
 * float64 from +0, four at a time as the engine's `Sum` over a middle axis
 * (for k = 1 the product alone: autodiff reduces nothing then).
 */
function pickGradKernel(args: KernelArgs): Info {
  const { dy } = args.inputs as { dy: Info };
  const { idx, numExperts: e } = args.attrs as unknown as { idx: Int32Array; numExperts: number };
  const backend = args.backend as unknown as RowBackend;
  const [t, k] = dy.shape as [number, number];
  const out = backend.makeOutput([t, e], "float32");
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const os = backend.typedArrayFromHeap(out) as Float32Array;
  const terms = new Float64Array(k);
  for (let r = 0; r < t; r++) {
    for (let c = 0; c < e; c++) {
      for (let j = 0; j < k; j++) terms[j] = g[r * k + j]! * (idx[r * k + j] === c ? 1 : 0);
      if (k === 1) {
        // Nothing to sum (no reduction over one choice): the product itself, zeros signed as dy.
        os[r * e + c] = terms[0]!;
        continue;
      }
      let acc = 0;
      let j = 0;
      for (; j + 4 <= k; j += 4) acc += terms[j]! + terms[j + 1]! + (terms[j + 2]! + terms[j + 3]!);
      for (; j < k; j++) acc += terms[j]!;
      os[r * e + c] = acc;
    }
  }
  return out;
}

let installed = false;

function install(): boolean {
  if (installed) return true;
  if (!tf.findBackend("wasm")) return false;
  installed = true;
  tf.registerKernel({ kernelName: COMBINE, backendName: "wasm", kernelFunc: combineKernel });
  tf.registerKernel({ kernelName: COMBINE_GRAD, backendName: "wasm", kernelFunc: combineGradKernel });
  tf.registerKernel({ kernelName: GATHER, backendName: "wasm", kernelFunc: gatherKernel });
  tf.registerKernel({ kernelName: TOP_K, backendName: "wasm", kernelFunc: topKKernel });
  tf.registerKernel({ kernelName: PICK, backendName: "wasm", kernelFunc: pickKernel });
  tf.registerKernel({ kernelName: PICK_GRAD, backendName: "wasm", kernelFunc: pickGradKernel });
  tf.registerGradient({
    kernelName: PICK,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.engine().runKernel(PICK_GRAD, { dy: dy as tf.Tensor }, attrs) as tf.Tensor }),
  });
  tf.registerGradient({
    kernelName: COMBINE,
    inputsToSave: ["rows", "w"],
    gradFunc: (dy, saved, attrs) => {
      const [rows, w] = saved as [tf.Tensor, tf.Tensor];
      const grad = (which: "rows" | "w") => (): tf.Tensor =>
        tf.engine().runKernel(COMBINE_GRAD, { dy: dy as tf.Tensor, rows, w }, { ...attrs, which }) as tf.Tensor;
      return { rows: grad("rows"), w: grad("w") };
    },
  });
  return true;
}

/**
 * `y[t] = Σ_j w[t, j] · rows[slot[t·k + j]]` on a host-memory backend: wasm
 * heap kernels on wasm, the same loops on copies on cpu. Differentiable
 * w.r.t. `rows` and `weights`.
 * @param rows [N, d] expert outputs @param weights [T, k] @param slot [T·k] int32 row of each assignment (≥ N: dropped)
 * @returns [T, d]
 */
export function combineRows(rows: tf.Tensor2D, weights: tf.Tensor2D, slot: tf.Tensor1D): tf.Tensor2D {
  if (tf.getBackend() === "wasm" && install()) {
    return tf.engine().runKernel(COMBINE, { rows, w: weights }, { slot: slot.dataSync() } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
  }
  const [t, k] = weights.shape;
  const d = rows.shape[1];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [r, w] = args as [tf.Tensor, tf.Tensor];
    (args[2] as tf.GradSaveFunc)([r, w, slot]);
    const y = new Float32Array(t * d);
    weightedRowSum(y, r.dataSync() as Float32Array, w.dataSync() as Float32Array, slot.dataSync() as Int32Array, k, d);
    return {
      value: tf.tensor2d(y, [t, d]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sr, sw, ss] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const [g, at] = [dy.dataSync() as Float32Array, ss.dataSync() as Int32Array];
        const dRows = new Float32Array(sr.size);
        const dW = new Float32Array(t * k);
        spreadRows(dRows, g, sw.dataSync() as Float32Array, at, k, d);
        rowDots(dW, g, sr.dataSync() as Float32Array, at, k, d);
        return [tf.tensor2d(dRows, sr.shape as [number, number]), tf.tensor2d(dW, [t, k])];
      },
    };
  });
  return op(rows, weights) as tf.Tensor2D;
}

/**
 * `out[i] = rows[idx[i]]` with zeros where `idx[i]` ≥ the row count, heap to
 * heap on wasm (not differentiable by itself); `null` on other backends.
 * @param rows [n, d] @param idx int32 of any length → [idx.length, d]
 */
export function gatherRowsOnHeap(rows: tf.Tensor2D, idx: tf.Tensor): tf.Tensor2D | null {
  if (tf.getBackend() !== "wasm" || !install()) return null;
  return tf.engine().runKernel(GATHER, { rows }, { idx: idx.dataSync() } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/**
 * Indices of the k largest entries of each row, best first (ties: lower
 * index), as `tf.topk(scores, k).indices`: a heap kernel on wasm.
 * @param scores [T, E] float32 → [T, k] int32
 */
export function topKIndices(scores: tf.Tensor2D, k: number): tf.Tensor2D {
  if (tf.getBackend() === "wasm" && scores.dtype === "float32" && install()) {
    return tf.engine().runKernel(TOP_K, { x: scores }, { k } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
  }
  return tf.tidy(() => tf.topk(scores, k).indices as tf.Tensor2D);
}

/**
 * `out[t, j] = scores[t, indices[t, j]]`, differentiable w.r.t. `scores` with
 * the values and gradients (bit for bit) of `Σ_e scores[t, e]·onehot(indices)[t, j, e]`,
 * which it computes on other backends. The indices are constants for autodiff.
 * @param scores [T, E] float32 @param indices [T, k] int32, distinct per row → [T, k]
 */
export function pickColumns(scores: tf.Tensor2D, indices: tf.Tensor2D): tf.Tensor2D {
  const e = scores.shape[1];
  if (tf.getBackend() === "wasm" && scores.dtype === "float32" && install()) {
    return tf.engine().runKernel(PICK, { x: scores }, { idx: indices.dataSync() as Int32Array, numExperts: e } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
  }
  return tf.tidy(() => tf.sum(tf.mul(tf.expandDims(scores, 1), tf.oneHot(indices, e)), -1) as tf.Tensor2D);
}
