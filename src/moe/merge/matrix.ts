import { ShapeError, ValueError } from "../../errors.js";

/**
 * A dense row-major float64 matrix: element (i, j) is `data[i * cols + j]`.
 * The merge/compress tools work on host arrays because they run once, offline,
 * on small expert matrices, and need float64 for SVD and assignment accuracy.
 */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Wraps `data` as a `rows × cols` matrix, checking the length and that every value is finite. */
export function matrix(rows: number, cols: number, data: ArrayLike<number>): Matrix {
  if (data.length !== rows * cols) throw new ShapeError("matrix data", [rows * cols], [data.length]);
  const out = Float64Array.from(data);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) throw new ValueError(`matrix: non-finite value at flat index ${i}`);
  }
  return { rows, cols, data: out };
}

/** `a · b` for row-major matrices. */
export function matMul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new ShapeError("matMul right operand", [a.cols, null], [b.rows, b.cols]);
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k]!;
      if (aik === 0) continue;
      const bo = k * b.cols;
      const oo = i * b.cols;
      for (let j = 0; j < b.cols; j++) out[oo + j]! += aik * b.data[bo + j]!;
    }
  }
  return { rows: a.rows, cols: b.cols, data: out };
}

/** The transpose of `a`. */
export function transpose(a: Matrix): Matrix {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out[j * a.rows + i] = a.data[i * a.cols + j]!;
  return { rows: a.cols, cols: a.rows, data: out };
}

/** Frobenius norm ‖a‖_F. */
export function frobenius(a: Matrix): number {
  let s = 0;
  for (const v of a.data) s += v * v;
  return Math.sqrt(s);
}
