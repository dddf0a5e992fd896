import { ValueError } from "../../errors.js";
import { frobenius, type Matrix } from "./matrix.js";
import { svd } from "./svd.js";

/**
 * A matrix stored as low rank plus sparse (LoSparse, as used by MC-SMoE's
 * compression step): `W ≈ U·V + S` with `U` `rows × r`, `V` `r × cols` and
 * `S` given by its kept entries.
 */
export interface LowRankSparse {
  u: Matrix;
  v: Matrix;
  /** Flat indices (row-major) of the kept residual entries, increasing. */
  sparseIndex: Int32Array;
  sparseValue: Float64Array;
  rows: number;
  cols: number;
}

/** Options of `lowRankPlusSparse`. */
export interface LowRankSparseOptions {
  /** Rank r of `U·V`, 0 ≤ r ≤ min(rows, cols). */
  rank: number;
  /** Fraction of the residual `W − U·V` kept, by magnitude (0 = none, 1 = all). Default 0. */
  sparseFraction?: number;
}

/**
 * Splits `w` into a rank-r part and a sparse residual. The low-rank part is
 * the truncated SVD balanced as in LoSparse (`U = U_r √Σ_r`, `V = √Σ_r V_rᵀ`);
 * the residual keeps its `sparseFraction` largest-magnitude entries. With
 * full rank, or with `sparseFraction = 1`, `U·V + S` reproduces `w` (up to
 * rounding). The reference prunes `S` during fine-tuning by PLATON importance
 * (|w·∂L/∂w|); without a training loop, magnitude is the importance used here.
 */
export function lowRankPlusSparse(w: Matrix, opts: LowRankSparseOptions): LowRankSparse {
  const { rows, cols } = w;
  const r = opts.rank;
  const maxRank = Math.min(rows, cols);
  if (!Number.isInteger(r) || r < 0 || r > maxRank) throw new ValueError(`lowRankPlusSparse: rank ${r} not in [0, ${maxRank}]`);
  const frac = opts.sparseFraction ?? 0;
  if (!(frac >= 0 && frac <= 1)) throw new ValueError(`lowRankPlusSparse: sparseFraction ${frac} not in [0, 1]`);
  const dec = svd(w);
  const k = dec.u.cols;
  const u = new Float64Array(rows * r);
  const v = new Float64Array(r * cols);
  for (let j = 0; j < r; j++) {
    const root = Math.sqrt(dec.s[j]!);
    for (let i = 0; i < rows; i++) u[i * r + j] = dec.u.data[i * k + j]! * root;
    for (let c = 0; c < cols; c++) v[j * cols + c] = dec.v.data[c * k + j]! * root;
  }
  const residual = Float64Array.from(w.data);
  for (let i = 0; i < rows; i++) for (let j = 0; j < r; j++) {
    const uij = u[i * r + j]!;
    for (let c = 0; c < cols; c++) residual[i * cols + c]! -= uij * v[j * cols + c]!;
  }
  const keep = Math.round(frac * residual.length);
  const order = Array.from({ length: residual.length }, (_, i) => i).sort((a, b) => Math.abs(residual[b]!) - Math.abs(residual[a]!) || a - b);
  const sparseIndex = Int32Array.from(order.slice(0, keep)).sort();
  const sparseValue = Float64Array.from(sparseIndex, (i) => residual[i]!);
  return { u: { rows, cols: r, data: u }, v: { rows: r, cols, data: v }, sparseIndex, sparseValue, rows, cols };
}

/** The dense matrix `U·V + S`. */
export function reconstructLowRankSparse(c: LowRankSparse): Matrix {
  const { rows, cols } = c;
  const r = c.u.cols;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < r; j++) {
    const uij = c.u.data[i * r + j]!;
    for (let k = 0; k < cols; k++) out[i * cols + k]! += uij * c.v.data[j * cols + k]!;
  }
  c.sparseIndex.forEach((idx, n) => (out[idx]! += c.sparseValue[n]!));
  return { rows, cols, data: out };
}

/** Stored scalars: `r·(rows + cols)` for the factors plus one per kept sparse entry (indices not counted). */
export function lowRankSparseParameterCount(c: LowRankSparse): number {
  return c.u.data.length + c.v.data.length + c.sparseValue.length;
}

/** Relative Frobenius error ‖W − (U·V + S)‖ / ‖W‖ (0 when W is 0 and reproduced). */
export function compressionError(w: Matrix, c: LowRankSparse): number {
  const rec = reconstructLowRankSparse(c);
  const diff = new Float64Array(w.data.length);
  for (let i = 0; i < diff.length; i++) diff[i] = w.data[i]! - rec.data[i]!;
  const n = frobenius(w);
  const e = frobenius({ rows: w.rows, cols: w.cols, data: diff });
  return n > 0 ? e / n : e;
}
