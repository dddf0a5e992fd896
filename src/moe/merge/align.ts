import { linearSumAssignment } from "./lsa.js";
import { hiddenSize, type ExpertWeights } from "./expert-weights.js";
import { ShapeError } from "../../errors.js";

/**
 * Neuron permutation that best aligns `target`'s hidden units with `reference`'s
 * (MC-SMoE weight matching). Returns `perm` with `perm[i]` = the target neuron
 * placed at position i.
 *
 * Similarity of reference neuron i and target neuron j is the dot product of
 * their incoming weights (columns of `wUp`, and of `wGate`, plus `bUp`) and,
 * when `includeOut` (default true), of their outgoing weights (rows of
 * `wDown`); the assignment maximising the total similarity is solved exactly.
 */
export function alignmentPermutation(reference: ExpertWeights, target: ExpertWeights, includeOut = true): Int32Array {
  const h = hiddenSize(reference);
  if (hiddenSize(target) !== h || target.wUp.rows !== reference.wUp.rows) {
    throw new ShapeError("alignment target wUp", [reference.wUp.rows, h], [target.wUp.rows, target.wUp.cols]);
  }
  const d = reference.wUp.rows;
  const dOut = reference.wDown.cols;
  const sim = new Float64Array(h * h);
  const addIn = (a: Float64Array, b: Float64Array): void => {
    for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) {
      let s = 0;
      for (let r = 0; r < d; r++) s += a[r * h + i]! * b[r * h + j]!;
      sim[i * h + j]! += s;
    }
  };
  addIn(reference.wUp.data, target.wUp.data);
  if (reference.wGate && target.wGate) addIn(reference.wGate.data, target.wGate.data);
  if (reference.bUp && target.bUp) {
    for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) sim[i * h + j]! += reference.bUp[i]! * target.bUp[j]!;
  }
  if (includeOut) {
    const a = reference.wDown.data;
    const b = target.wDown.data;
    for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) {
      let s = 0;
      for (let c = 0; c < dOut; c++) s += a[i * dOut + c]! * b[j * dOut + c]!;
      sim[i * h + j]! += s;
    }
  }
  return linearSumAssignment({ rows: h, cols: h, data: sim }, { maximize: true });
}

/** Reorders the hidden neurons of `e` so that new neuron i is old neuron `perm[i]` (function unchanged). */
export function permuteNeurons(e: ExpertWeights, perm: Int32Array): ExpertWeights {
  const h = hiddenSize(e);
  if (perm.length !== h) throw new ShapeError("neuron permutation", [h], [perm.length]);
  return selectNeurons(e, perm);
}

/**
 * The expert made of the hidden neurons `idx` of `e` (in that order): columns
 * of `wUp`/`wGate`, entries of `bUp`, rows of `wDown`; `bDown` is copied.
 * An FFN is a sum over its neurons, so experts from disjoint selections sum
 * to the original (with `bDown` counted once).
 */
export function selectNeurons(e: ExpertWeights, idx: Int32Array): ExpertWeights {
  const h = hiddenSize(e);
  for (const j of idx) if (!(j >= 0 && j < h)) throw new ShapeError("neuron index", [`< ${h}`], [j]);
  const n = idx.length;
  const cols = (m: ExpertWeights["wUp"]): ExpertWeights["wUp"] => {
    const out = new Float64Array(m.rows * n);
    for (let r = 0; r < m.rows; r++) for (let i = 0; i < n; i++) out[r * n + i] = m.data[r * h + idx[i]!]!;
    return { rows: m.rows, cols: n, data: out };
  };
  const dOut = e.wDown.cols;
  const wDown = new Float64Array(n * dOut);
  for (let i = 0; i < n; i++) wDown.set(e.wDown.data.subarray(idx[i]! * dOut, (idx[i]! + 1) * dOut), i * dOut);
  const out: ExpertWeights = { wUp: cols(e.wUp), wDown: { rows: n, cols: dOut, data: wDown } };
  if (e.wGate) out.wGate = cols(e.wGate);
  if (e.bUp) out.bUp = Float64Array.from(idx, (j) => e.bUp![j]!);
  if (e.bDown) out.bDown = Float64Array.from(e.bDown);
  return out;
}

/** `target` with its neurons permuted to match `reference` (see `alignmentPermutation`). */
export function alignExpert(reference: ExpertWeights, target: ExpertWeights, includeOut = true): ExpertWeights {
  return permuteNeurons(target, alignmentPermutation(reference, target, includeOut));
}
