import { ValueError } from "../../errors.js";
import { transpose, type Matrix } from "./matrix.js";

/** Thin SVD `a = U · diag(s) · Vᵀ` with `s` sorted in decreasing order. */
export interface Svd {
  /** `rows × r` with orthonormal columns (r = min(rows, cols)). */
  u: Matrix;
  /** Singular values, length r, decreasing, ≥ 0. */
  s: Float64Array;
  /** `cols × r` with orthonormal columns. */
  v: Matrix;
}

/**
 * Thin singular value decomposition by one-sided Jacobi rotations (float64).
 *
 * Jacobi is slower than Golub–Kahan for big matrices but accurate to a few
 * ulps on the small expert matrices this is used for, and short enough to
 * verify. Sweeps until no pair of columns is non-orthogonal beyond 1e-15
 * relative, at most `maxSweeps` (default 60) times.
 */
export function svd(a: Matrix, maxSweeps = 60): Svd {
  if (a.rows < a.cols) {
    const t = svd(transpose(a), maxSweeps);
    return { u: t.v, s: t.s, v: t.u };
  }
  const m = a.rows;
  const n = a.cols;
  const w = Float64Array.from(a.data); // columns get orthogonalised in place
  const vv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) vv[i * n + i] = 1;
  let sweep = 0;
  for (let rotated = true; rotated; sweep++) {
    if (sweep >= maxSweeps) throw new ValueError(`svd: no convergence after ${maxSweeps} Jacobi sweeps`);
    rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const xp = w[i * n + p]!;
          const xq = w[i * n + q]!;
          alpha += xp * xp;
          beta += xq * xq;
          gamma += xp * xq;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(w, m, n, p, q, c, s);
        rotate(vv, n, n, p, q, c, s);
      }
    }
  }
  const sing = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < m; i++) ss += w[i * n + j]! ** 2;
    sing[j] = Math.sqrt(ss);
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => sing[y]! - sing[x]!);
  const u = new Float64Array(m * n);
  const v = new Float64Array(n * n);
  const s = new Float64Array(n);
  order.forEach((j, k) => {
    s[k] = sing[j]!;
    const inv = sing[j]! > 0 ? 1 / sing[j]! : 0;
    for (let i = 0; i < m; i++) u[i * n + k] = w[i * n + j]! * inv;
    for (let i = 0; i < n; i++) v[i * n + k] = vv[i * n + j]!;
  });
  return { u: { rows: m, cols: n, data: u }, s, v: { rows: n, cols: n, data: v } };
}

function rotate(x: Float64Array, rows: number, cols: number, p: number, q: number, c: number, s: number): void {
  for (let i = 0; i < rows; i++) {
    const xp = x[i * cols + p]!;
    const xq = x[i * cols + q]!;
    x[i * cols + p] = c * xp - s * xq;
    x[i * cols + q] = s * xp + c * xq;
  }
}
