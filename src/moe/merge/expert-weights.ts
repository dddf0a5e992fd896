import { ShapeError } from "../../errors.js";
import type { Matrix } from "./matrix.js";

/**
 * One feed-forward expert as host matrices, in the layout of `ExpertFFN`
 * (`y = (act(x·wUp + bUp) or act(x·wGate) ⊙ (x·wUp + bUp)) · wDown + bDown`).
 *
 * The hidden neurons are the columns of `wUp`/`wGate`, the entries of `bUp` and
 * the rows of `wDown`; permuting them consistently leaves the function unchanged.
 */
export interface ExpertWeights {
  /** `d × h`. */
  wUp: Matrix;
  /** `d × h`, only for gated (SwiGLU) experts: the activated branch, multiplied into the linear `x·wUp`. */
  wGate?: Matrix;
  /** `h × d`. */
  wDown: Matrix;
  /** Length h. */
  bUp?: Float64Array;
  /** Length d. */
  bDown?: Float64Array;
}

/** Hidden width h of an expert, after checking that its parts agree. */
export function hiddenSize(e: ExpertWeights): number {
  const h = e.wUp.cols;
  if (e.wDown.rows !== h) throw new ShapeError("expert wDown", [h, e.wUp.rows], [e.wDown.rows, e.wDown.cols]);
  if (e.wGate && (e.wGate.rows !== e.wUp.rows || e.wGate.cols !== h)) {
    throw new ShapeError("expert wGate", [e.wUp.rows, h], [e.wGate.rows, e.wGate.cols]);
  }
  if (e.bUp && e.bUp.length !== h) throw new ShapeError("expert bUp", [h], [e.bUp.length]);
  if (e.bDown && e.bDown.length !== e.wDown.cols) throw new ShapeError("expert bDown", [e.wDown.cols], [e.bDown.length]);
  return h;
}

/** Number of scalars stored in one expert. */
export function expertParameterCount(e: ExpertWeights): number {
  return e.wUp.data.length + (e.wGate?.data.length ?? 0) + e.wDown.data.length + (e.bUp?.length ?? 0) + (e.bDown?.length ?? 0);
}

/** Applies `fn` to every array of the expert, keeping which parts exist. */
export function mapExpert(e: ExpertWeights, fn: (part: Float64Array, name: keyof ExpertWeights) => Float64Array): ExpertWeights {
  const m = (x: Matrix, name: keyof ExpertWeights): Matrix => ({ rows: x.rows, cols: x.cols, data: fn(x.data, name) });
  const out: ExpertWeights = { wUp: m(e.wUp, "wUp"), wDown: m(e.wDown, "wDown") };
  if (e.wGate) out.wGate = m(e.wGate, "wGate");
  if (e.bUp) out.bUp = fn(e.bUp, "bUp");
  if (e.bDown) out.bDown = fn(e.bDown, "bDown");
  return out;
}
