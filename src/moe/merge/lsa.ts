import { ShapeError, ValueError } from "../../errors.js";
import type { Matrix } from "./matrix.js";

/**
 * Linear sum assignment (the Hungarian problem, as `scipy.optimize.linear_sum_assignment`).
 *
 * For an `n × m` cost matrix with `n ≤ m`, returns `col` (length n) such that
 * row i is assigned column `col[i]`, all columns distinct, minimising
 * `Σ_i cost[i, col[i]]` (maximising with `maximize: true`). Runs the O(n²m)
 * shortest-augmenting-path method with row/column potentials, so the optimum
 * is exact, not greedy.
 */
export function linearSumAssignment(cost: Matrix, opts: { maximize?: boolean } = {}): Int32Array {
  const n = cost.rows;
  const m = cost.cols;
  if (n > m) throw new ShapeError("linearSumAssignment cost (rows ≤ cols)", [`≤${m}`, m], [n, m]);
  const sign = opts.maximize ? -1 : 1;
  for (const v of cost.data) if (!Number.isFinite(v)) throw new ValueError("linearSumAssignment: cost contains a non-finite value");
  const a = (i: number, j: number): number => sign * cost.data[(i - 1) * m + (j - 1)]!;
  // 1-based potentials; index 0 is the virtual column from which each augmenting path starts.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j] = row assigned to column j (0 = none)
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a(i0, j) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const col = new Int32Array(n);
  for (let j = 1; j <= m; j++) if (p[j]! > 0) col[p[j]! - 1] = j - 1;
  return col;
}
