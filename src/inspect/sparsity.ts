import { ConfigError, ShapeError } from "../errors.js";
import { groupRows, type ActivationTable } from "./records.js";

function checkRows(a: ArrayLike<number>, width: number, what: string): number {
  if (!Number.isInteger(width) || width < 1 || a.length % width !== 0) throw new ShapeError(what, [null, width], [a.length]);
  return a.length / width;
}

/**
 * The lazy-neuron measure (Li et al. 2023): mean over rows (tokens) of the
 * fraction of features with |a| > eps. After a ReLU with eps = 0 this is the
 * fraction of nonzero units; for GELU/SiLU use eps > 0.
 *
 * @param a row-major activations `[rows, width]`.
 */
export function activationSparsity(a: ArrayLike<number>, width: number, eps = 0): number {
  const rows = checkRows(a, width, "activations");
  if (!(eps >= 0)) throw new ConfigError("eps", `must be ≥ 0, got ${eps}`);
  let active = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]!) > eps) active++;
  return rows > 0 ? active / (rows * width) : NaN;
}

/**
 * Top-k mask per row: exactly k ones per row at the k largest values of `a`
 * (by value, as the Top-k Transformer keeps the largest MLP activations; use
 * `byAbs` for magnitudes). Ties go to the lower feature index.
 */
export function topkMask(a: ArrayLike<number>, width: number, k: number, byAbs = false): Uint8Array {
  const rows = checkRows(a, width, "activations");
  if (!Number.isInteger(k) || k < 0 || k > width) throw new ConfigError("k", `must be an integer in [0, ${width}], got ${k}`);
  const mask = new Uint8Array(a.length);
  const idx = Array.from({ length: width }, (_, i) => i);
  const key = (v: number) => (byAbs ? Math.abs(v) : v);
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    idx.sort((i, j) => key(a[o + j]!) - key(a[o + i]!) || i - j);
    for (let j = 0; j < k; j++) mask[o + idx[j]!] = 1;
  }
  return mask;
}

/**
 * Top-k thresholding: the activations with all but the k largest per row set
 * to 0, and the fraction of the squared L2 norm (energy) that survives.
 */
export function topkThreshold(a: ArrayLike<number>, width: number, k: number): { values: Float32Array; keptEnergy: number } {
  const mask = topkMask(a, width, k);
  const values = new Float32Array(a.length);
  let total = 0;
  let kept = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    total += v * v;
    if (mask[i]) {
      values[i] = v;
      kept += v * v;
    }
  }
  return { values, keptEnergy: total > 0 ? kept / total : 1 };
}

/** Per-layer sparsity of recorded activations (means over every recorded row of the module). */
export interface LayerSparsity {
  module: string;
  /** The lazy-neuron measure: mean fraction of features ≠ 0. */
  nonzeroFraction: number;
  /** Mean fraction of features with |x| > nearZeroEps (the table's eps). */
  activeFraction: number;
  /** Mean fraction of features > 0: the lazy-neuron measure when the recorded module is the pre-activation of a ReLU. */
  positiveFraction: number;
  rows: number;
}

/** `LayerSparsity` of every module in a table, in call order. */
export function sparsityByLayer(t: ActivationTable): LayerSparsity[] {
  const groups = groupRows(t.module.length, (r) => t.module[r]!);
  return [...groups].map(([module, rows]) => {
    let z = 0;
    let nz = 0;
    let pos = 0;
    for (const r of rows) {
      z += t.fracZero[r]!;
      nz += t.fracNearZero[r]!;
      pos += t.fracPositive[r]!;
    }
    const n = rows.length;
    return { module, nonzeroFraction: 1 - z / n, activeFraction: 1 - nz / n, positiveFraction: pos / n, rows: n };
  });
}
