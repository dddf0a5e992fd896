import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.js";
import { unaryCustomGrad } from "./autodiff.js";

/**
 * A static-shape capacity plan (GShard/Switch): expert e owns C slots, slot
 * `s = e·C + c`. All index tensors are int32 constants; every shape depends
 * only on (T, k, E, C), so nothing is read back to the host.
 */
export interface DispatchPlan {
  numTokens: number;
  topK: number;
  numExperts: number;
  /** Slots per expert C. */
  capacity: number;
  /** [T·k] slot of assignment `a = t·k + j`, or `E·C` when it was dropped. */
  assignSlot: tf.Tensor1D;
  /** [E·C] assignment held by each slot, or `T·k` when the slot is empty. */
  slotAssign: tf.Tensor1D;
}

/**
 * Slots per expert: `ceil(k·T/E · capacityFactor)`, at most `T·perToken`, the
 * most assignments an expert can receive (`perToken` = 1 when router choices
 * are distinct experts; more when merged experts serve several choices).
 * `capacityFactor = Infinity` gives that maximum: no token is ever dropped.
 */
export function expertCapacity(numTokens: number, topK: number, numExperts: number, capacityFactor: number, perToken = 1): number {
  if (!(capacityFactor > 0)) throw new ConfigError("capacityFactor", `must be > 0, got ${capacityFactor}`);
  const most = numTokens * perToken;
  if (capacityFactor === Infinity) return most;
  return Math.max(1, Math.min(most, Math.ceil(((topK * numTokens) / numExperts) * capacityFactor)));
}

/**
 * Places each (token, choice) assignment in its expert's slots in GShard
 * priority order: every token's first choice before any token's second
 * choice, tokens in order. Assignments beyond the capacity are dropped (their
 * MoE output is 0; the residual stream carries the token).
 *
 * @param indices [T, k] int32 selected experts.
 */
export function planDispatch(indices: tf.Tensor2D, numExperts: number, capacity: number): DispatchPlan {
  const [t, k] = indices.shape;
  const packed = unaryCustomGrad(
    (idx) =>
      tf.tidy(() => {
      const choiceMajor = tf.reshape(tf.transpose(idx), [k * t]);
      const onehot = oneHotFloat(choiceMajor, numExperts);
      const before = tf.cumsum(onehot, 0, true);
      const pos = tf.sum(tf.mul(before, onehot), -1).toInt();
      const kept = tf.less(pos, capacity);
      const slotCM = tf.where(kept, tf.add(tf.mul(choiceMajor, tf.scalar(capacity, "int32")), pos), tf.scalar(numExperts * capacity, "int32"));
      const assignSlot = tf.reshape(tf.transpose(tf.reshape(slotCM, [k, t])), [t * k]);
      // Inverse map by scatter: slot ← assignment + 1 (the overflow slot E·C collects all drops).
      const ids = tf.range(1, t * k + 1, 1, "int32");
      const inv = tf.scatterND(tf.expandDims(assignSlot, 1), ids, [numExperts * capacity + 1]);
      const filled = tf.slice(inv, 0, numExperts * capacity);
      const slotAssign = tf.where(tf.greater(filled, 0), tf.sub(filled, tf.scalar(1, "int32")), tf.scalar(t * k, "int32"));
      return tf.concat([assignSlot, slotAssign]);
      }),
    () => tf.zerosLike(indices),
  )(indices);
  const assignSlot = tf.slice(packed, 0, t * k) as tf.Tensor1D;
  const slotAssign = tf.slice(packed, t * k, numExperts * capacity) as tf.Tensor1D;
  packed.dispose();
  return { numTokens: t, topK: k, numExperts, capacity, assignSlot, slotAssign };
}

/**
 * Copies each token into the expert slots it was assigned: [T, d] → [E, C, d]
 * (empty slots are zero). Differentiable w.r.t. `x`.
 */
export function dispatchTokens(x: tf.Tensor2D, plan: DispatchPlan): tf.Tensor3D {
  const [t, d] = x.shape;
  const { topK: k, numExperts: e, capacity: c } = plan;
  // Slot → token: assignment a = t·k + j belongs to token ⌊a/k⌋; an empty slot's T·k maps to T, the zero row.
  // Reading tokens directly (not k tiled copies) saves a [T·k, d] tile and its gradient.
  const slotToken = tf.floorDiv(plan.slotAssign, tf.scalar(k, "int32"));
  const out = unaryCustomGrad(
    (v, save) => {
      save([plan.assignSlot]);
      return tf.tidy(() => tf.reshape(gatherOrZero(v as tf.Tensor2D, slotToken), [e, c, d]));
    },
    // Each token's gradient is the sum over its k assignments' slots (dropped ones read zeros).
    (dy, saved) => tf.tidy(() => tf.sum(tf.reshape(gatherOrZero(tf.reshape(dy, [e * c, d]) as tf.Tensor2D, saved[0]!), [t, k, d]), 1)),
  )(x) as tf.Tensor3D;
  slotToken.dispose();
  return out;
}

/**
 * Moves one row per assignment (in assignment order `t·k + j`, e.g. the
 * attention output of each selected expert's heads) into the expert slots:
 * [T·k, d] → [E, C, d].
 */
export function dispatchAssignments(rows: tf.Tensor2D, plan: DispatchPlan): tf.Tensor3D {
  const { numExperts: e, capacity: c } = plan;
  return pickRows(rows, plan.slotAssign, plan.assignSlot, [e, c, rows.shape[1]]) as tf.Tensor3D;
}

/**
 * Reads each assignment's expert output back: [E, C, d] → [T, k, d] (dropped
 * assignments read zeros).
 */
export function collectOutputs(expertOut: tf.Tensor3D, plan: DispatchPlan): tf.Tensor3D {
  return pickRows(expertOut, plan.assignSlot, plan.slotAssign, [plan.numTokens, plan.topK, expertOut.shape[2]]) as tf.Tensor3D;
}

/**
 * The weighted sum of each token's expert outputs: `y[t] = Σ_j w[t, j] ·
 * out[slot(t, j)]`, [E, C, d] and [T, k] → [T, d] (dropped assignments add
 * nothing). Differentiable w.r.t. both inputs. On the host-memory backends it
 * is one pass over the rows each way; op by op it was a gather, a broadcast
 * multiply and a sum, and their gradients, about a fifth of a small MoE step.
 */
export function combineOutputs(expertOut: tf.Tensor3D, weights: tf.Tensor2D, plan: DispatchPlan): tf.Tensor2D {
  const onHost = tf.getBackend() === "wasm" || tf.getBackend() === "cpu";
  if (!onHost) return tf.tidy(() => tf.sum(tf.mul(collectOutputs(expertOut, plan), tf.expandDims(weights, 2)), 1) as tf.Tensor2D);
  const { numTokens: t, topK: k } = plan;
  const d = expertOut.shape[2];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [eo, w] = args as [tf.Tensor, tf.Tensor];
    (args[2] as tf.GradSaveFunc)([eo, w, plan.assignSlot]);
    const rows = eo.dataSync();
    const ws = w.dataSync();
    const slots = plan.assignSlot.dataSync();
    const nSlots = rows.length / d;
    const y = new Float32Array(t * d);
    for (let a = 0; a < t * k; a++) {
      const s = slots[a]!;
      if (s >= nSlots) continue;
      const wa = ws[a]!;
      const yo = Math.floor(a / k) * d;
      for (let i = 0, so = s * d; i < d; i++) y[yo + i] += wa * rows[so + i]!;
    }
    return {
      value: tf.tensor2d(y, [t, d]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [seo, sw, sslots] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const g = dy.dataSync();
        const src = seo.dataSync();
        const wv = sw.dataSync();
        const at = sslots.dataSync();
        const dEo = new Float32Array(src.length);
        const dW = new Float32Array(t * k);
        for (let a = 0; a < t * k; a++) {
          const s = at[a]!;
          if (s >= nSlots) continue;
          const wa = wv[a]!;
          const go = Math.floor(a / k) * d;
          let dot = 0;
          for (let i = 0, so = s * d; i < d; i++) {
            dEo[so + i] = wa * g[go + i]!; // each slot holds at most one assignment
            dot += g[go + i]! * src[so + i]!;
          }
          dW[a] = dot;
        }
        return [tf.tensor(dEo, seo.shape), tf.tensor2d(dW, [t, k])];
      },
    };
  });
  return op(expertOut, weights) as tf.Tensor2D;
}

/**
 * Rows of `x` (as [n, d], d = last axis) picked by `forward`, reshaped to
 * `shape`. The two maps are inverse partial permutations (each slot holds at
 * most one assignment), so the gradient is the gather of `dy`'s rows by
 * `backward`: no scatter kernel is needed (the wasm backend has no
 * `UnsortedSegmentSum`, which `tf.gather`'s own gradient uses).
 */
function pickRows(x: tf.Tensor, forward: tf.Tensor, backward: tf.Tensor, shape: number[]): tf.Tensor {
  const d = x.shape[x.rank - 1]!;
  return unaryCustomGrad(
    (v, save) => {
      save([backward]);
      return tf.tidy(() => tf.reshape(gatherOrZero(tf.reshape(v, [-1, d]) as tf.Tensor2D, forward), shape));
    },
    (dy, saved) => tf.tidy(() => tf.reshape(gatherOrZero(tf.reshape(dy, [-1, d]) as tf.Tensor2D, saved[0]!), x.shape)),
  )(x);
}

/**
 * `out[i] = rows[idx[i]]`, or zeros where `idx[i] = rows.length` (the
 * "no assignment" index). Every dispatch step is this row gather.
 *
 * On the host-memory backends (wasm, cpu) the rows are copied on the host:
 * the wasm `GatherV2` kernel moves ~10–20 M floats/s (50–100 ms for the
 * 5120 × 128 rows of an 8-expert layer on 2048 tokens, more than the experts'
 * matrix products), while a host row copy takes about a millisecond. Other
 * backends keep the data on the device and use `tf.gather`.
 */
export function gatherOrZero(rows: tf.Tensor2D, idx: tf.Tensor, onHost = tf.getBackend() === "wasm" || tf.getBackend() === "cpu"): tf.Tensor2D {
  const [n, d] = rows.shape;
  if (!onHost) return tf.gather(padRow(rows), idx) as tf.Tensor2D;
  const src = rows.dataSync();
  const at = idx.dataSync();
  const out = new Float32Array(at.length * d);
  for (let i = 0; i < at.length; i++) {
    const r = at[i]!;
    if (r < n) out.set(src.subarray(r * d, r * d + d), i * d);
  }
  return tf.tensor2d(out, [at.length, d]);
}

/** `x` with one zero row appended, the target of every "no assignment" index. */
function padRow(x: tf.Tensor2D): tf.Tensor2D {
  return tf.concat([x, tf.zeros([1, x.shape[1]])]);
}

/** float32 one-hot of int32 `indices` with `depth` classes; also for depth 1, which `tf.oneHot` rejects (a layer merged down to one expert). */
export function oneHotFloat(indices: tf.Tensor, depth: number): tf.Tensor {
  return depth === 1 ? tf.ones([...indices.shape, 1]) : tf.oneHot(indices, depth).toFloat();
}
