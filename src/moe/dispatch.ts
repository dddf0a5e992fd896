import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.js";
import { unaryCustomGrad } from "./autodiff.js";
import { combineRows, gatherRowsOnHeap } from "./heap-kernels.js";

/**
 * Where each (token, choice) assignment sits among the experts' input rows
 * ("slots"), and back. Both maps are int32 constants; each slot holds at most
 * one assignment.
 */
export interface SlotMap {
  numTokens: number;
  topK: number;
  /** [T·k] slot of assignment `a = t·k + j`, or the slot count when it was dropped. */
  assignSlot: tf.Tensor1D;
  /** [slots] assignment held by each slot, or `T·k` when the slot is empty. */
  slotAssign: tf.Tensor1D;
}

/**
 * A static-shape capacity plan (GShard/Switch): expert e owns C slots, slot
 * `s = e·C + c`; `E·C` marks a dropped assignment. Every shape depends only
 * on (T, k, E, C), so nothing is read back to the host.
 */
export interface DispatchPlan extends SlotMap {
  numExperts: number;
  /** Slots per expert C. */
  capacity: number;
}

/**
 * A plan's filled slots packed expert after expert: expert e's assignments
 * are rows `off[e] .. off[e] + counts[e]` of one [N, d] matrix (N = kept
 * assignments), in the order the plan gave them; `N` marks a dropped one.
 */
export interface GroupedPlan extends SlotMap {
  /** [E] assignments each expert holds. */
  counts: number[];
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
 * On the host-memory backends (wasm, cpu) the plan is one pass over the
 * T·k choices on the host; elsewhere it is built from tensor ops (a cumulative
 * sum over one-hot choices and a scatter), so nothing is read back.
 *
 * @param indices [T, k] int32 selected experts.
 */
export function planDispatch(indices: tf.Tensor2D, numExperts: number, capacity: number, onHost = tf.getBackend() === "wasm" || tf.getBackend() === "cpu"): DispatchPlan {
  const [t, k] = indices.shape;
  if (onHost) {
    const chosen = indices.dataSync();
    const assignSlot = new Int32Array(t * k).fill(numExperts * capacity);
    const slotAssign = new Int32Array(numExperts * capacity).fill(t * k);
    const filled = new Int32Array(numExperts);
    for (let j = 0; j < k; j++) {
      for (let tok = 0; tok < t; tok++) {
        const a = tok * k + j;
        const e = chosen[a]!;
        const pos = filled[e]!++;
        if (pos >= capacity) continue;
        assignSlot[a] = e * capacity + pos;
        slotAssign[e * capacity + pos] = a;
      }
    }
    return { numTokens: t, topK: k, numExperts, capacity, assignSlot: tf.tensor1d(assignSlot, "int32"), slotAssign: tf.tensor1d(slotAssign, "int32") };
  }
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
 * The plan with its empty slots left out (`GroupedPlan`), read on the host.
 * Running the experts on these rows gives the same outputs and gradients as
 * on the padded [E, C, d] slots: an empty slot's output reaches no token, so
 * its gradient is zero and adds nothing to any parameter's.
 */
export function groupPlan(plan: DispatchPlan): GroupedPlan {
  const { numTokens: t, topK: k, numExperts: e, capacity: c } = plan;
  const slotAssign = plan.slotAssign.dataSync();
  const assignSlot = plan.assignSlot.dataSync();
  const rowOfSlot = new Int32Array(e * c + 1);
  const rowAssign: number[] = [];
  const counts = new Array<number>(e).fill(0);
  for (let s = 0; s < e * c; s++) {
    const a = slotAssign[s]!;
    if (a >= t * k) continue;
    rowOfSlot[s] = rowAssign.length;
    rowAssign.push(a);
    counts[Math.floor(s / c)]!++;
  }
  rowOfSlot[e * c] = rowAssign.length;
  const assignRow = Int32Array.from(assignSlot, (s) => rowOfSlot[s]!);
  return { numTokens: t, topK: k, counts, assignSlot: tf.tensor1d(assignRow, "int32"), slotAssign: tf.tensor1d(rowAssign, "int32") };
}

/**
 * Copies each token into the expert slots it was assigned: [T, d] → [E, C, d]
 * (empty slots are zero). Differentiable w.r.t. `x`.
 */
export function dispatchTokens(x: tf.Tensor2D, plan: DispatchPlan): tf.Tensor3D {
  return tf.tidy(() => tf.reshape(dispatchRows(x, plan), [plan.numExperts, plan.capacity, x.shape[1]]));
}

/**
 * Copies each token into the slots of its assignments, as rows: [T, d] →
 * [slots, d] (empty slots are zero). Differentiable w.r.t. `x`.
 */
export function dispatchRows(x: tf.Tensor2D, plan: SlotMap): tf.Tensor2D {
  const [t, d] = x.shape;
  const k = plan.topK;
  // Slot → token: assignment a = t·k + j belongs to token ⌊a/k⌋; an empty slot's T·k maps to T, the zero row.
  // Reading tokens directly (not k tiled copies) saves a [T·k, d] tile and its gradient.
  const onHost = tf.getBackend() === "wasm" || tf.getBackend() === "cpu";
  const slotToken = onHost ? tf.tensor1d(plan.slotAssign.dataSync().map((a) => Math.floor(a / k)), "int32") : tf.floorDiv(plan.slotAssign, tf.scalar(k, "int32"));
  const out = unaryCustomGrad(
    (v, save) => {
      save([plan.assignSlot]);
      return gatherOrZero(v as tf.Tensor2D, slotToken);
    },
    // Each token's gradient is the sum over its k assignments' slots (dropped ones read zeros).
    (dy, saved) => tf.tidy(() => tf.sum(tf.reshape(gatherOrZero(dy as tf.Tensor2D, saved[0]!), [t, k, d]), 1)),
  )(x) as tf.Tensor2D;
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
 * Reads each assignment's expert output back: [E, C, d] (or [slots, d]) →
 * [T, k, d] (dropped assignments read zeros).
 */
export function collectOutputs(expertOut: tf.Tensor, plan: SlotMap): tf.Tensor3D {
  return pickRows(expertOut, plan.assignSlot, plan.slotAssign, [plan.numTokens, plan.topK, expertOut.shape[expertOut.rank - 1]!]) as tf.Tensor3D;
}

/**
 * The weighted sum of each token's expert outputs: `y[t] = Σ_j w[t, j] ·
 * out[slot(t, j)]`, [E, C, d] (or [slots, d]) and [T, k] → [T, d] (dropped
 * assignments add nothing). Differentiable w.r.t. both inputs. On the host-memory backends it
 * is one pass over the rows each way (`combineRows`).
 */
export function combineOutputs(expertOut: tf.Tensor, weights: tf.Tensor2D, plan: SlotMap): tf.Tensor2D {
  const onHost = tf.getBackend() === "wasm" || tf.getBackend() === "cpu";
  if (!onHost) return tf.tidy(() => tf.sum(tf.mul(collectOutputs(expertOut, plan), tf.expandDims(weights, 2)), 1) as tf.Tensor2D);
  return tf.tidy(() => combineRows(tf.reshape(expertOut, [-1, expertOut.shape[expertOut.rank - 1]!]) as tf.Tensor2D, weights, plan.assignSlot));
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
 * On the host-memory backends (wasm, cpu) whole rows are copied: on the wasm
 * heap by a kernel (`gatherRowsOnHeap`), on cpu between host copies (the stock
 * wasm `GatherV2` moved ~10–20 M floats/s, 50–100 ms for the 5120 × 128 rows
 * of an 8-expert layer on 2048 tokens). Other backends keep the data on the
 * device and use `tf.gather`.
 */
export function gatherOrZero(rows: tf.Tensor2D, idx: tf.Tensor, onHost = tf.getBackend() === "wasm" || tf.getBackend() === "cpu"): tf.Tensor2D {
  const [n, d] = rows.shape;
  if (!onHost) return tf.gather(padRow(rows), idx) as tf.Tensor2D;
  const onHeap = gatherRowsOnHeap(rows, idx);
  if (onHeap) return onHeap;
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
