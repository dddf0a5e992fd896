import { ShapeError } from "../errors.js";
import { groupRows, type ActivationTable } from "./records.js";

/** Norms below this count as this when dividing (as in Csordás et al.). */
const NORM_FLOOR = 1e-6;

/** How much a residual layer changes the stream it reads (Csordás et al. 2025). */
export interface LayerContribution {
  module: string;
  /** Mean over tokens of ‖out − in‖₂ / max(‖in‖₂, 1e-6). */
  relative: number;
  /** Mean over tokens of cos(out − in, in); negative means the layer erases the stream. */
  cosine: number;
  /** Tokens that entered the means. */
  rows: number;
}

/**
 * Per-layer contribution to the residual stream from recorded update
 * statistics; modules whose input and output shapes differ are left out.
 * Relative contributions are scale-invariant (multiplying the whole stream by
 * c changes nothing).
 */
export function contributionByLayer(t: ActivationTable): LayerContribution[] {
  const groups = groupRows(t.module.length, (r) => t.module[r]!);
  const out: LayerContribution[] = [];
  for (const [module, rows] of groups) {
    const ok = rows.filter((r) => !Number.isNaN(t.updateL2[r]!));
    if (ok.length === 0) continue;
    let rel = 0;
    let cos = 0;
    let nCos = 0;
    for (const r of ok) {
      rel += t.updateL2[r]! / Math.max(t.inL2[r]!, NORM_FLOOR);
      if (!Number.isNaN(t.updateCos[r]!)) {
        cos += t.updateCos[r]!;
        nCos++;
      }
    }
    out.push({ module, relative: rel / ok.length, cosine: nCos > 0 ? cos / nCos : NaN, rows: ok.length });
  }
  return out;
}

function rowNormDiffRatio(a: Float32Array, b: Float32Array, width: number): number {
  let worst = 0;
  for (let o = 0; o < a.length; o += width) {
    let dd = 0;
    let bb = 0;
    for (let i = o; i < o + width; i++) {
      const d = a[i]! - b[i]!;
      dd += d * d;
      bb += b[i]! * b[i]!;
    }
    worst = Math.max(worst, Math.sqrt(dd) / Math.max(Math.sqrt(bb), NORM_FLOOR));
  }
  return worst;
}

/**
 * Effect of skipping layers on later computation:
 * D[s][l] = max over tokens ‖Δ_l^{skip s} − Δ_l‖₂ / ‖Δ_l‖₂ where Δ_l = out_l − in_l
 * is layer l's update (row-major `[tokens, width]`). D[s][l] = 0 for l < s and
 * D[s][s] = 1 when skipping makes the update zero.
 *
 * @param base Δ_l of the unmodified run, one array per layer.
 * @param skipped skipped[s] = the Δ_l of the run with layer s skipped.
 */
export function skipEffectMatrix(base: readonly Float32Array[], skipped: readonly (readonly Float32Array[])[], width: number): Float64Array[] {
  return skipped.map((run, s) => {
    if (run.length !== base.length) throw new ShapeError(`skip run ${s}`, [base.length], [run.length]);
    return Float64Array.from(base, (b, l) => {
      if (run[l]!.length !== b.length) throw new ShapeError(`skip run ${s} layer ${l}`, [b.length], [run[l]!.length]);
      return rowNormDiffRatio(run[l]!, b, width);
    });
  });
}

/** Row-wise softmax of `[rows, width]` logits. */
function softmaxRows(x: Float32Array, width: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += width) {
    let m = -Infinity;
    for (let i = o; i < o + width; i++) m = Math.max(m, x[i]!);
    let s = 0;
    for (let i = o; i < o + width; i++) s += (out[i] = Math.exp(x[i]! - m));
    for (let i = o; i < o + width; i++) out[i]! /= s;
  }
  return out;
}

/**
 * Output effect of an intervention: max over rows of ‖softmax(a) − softmax(b)‖₂
 * for logits `[rows, width]` (in [0, √2]).
 */
export function outputEffect(a: Float32Array, b: Float32Array, width: number): number {
  if (a.length !== b.length || a.length % width !== 0) throw new ShapeError("logits", [b.length], [a.length]);
  const pa = softmaxRows(a, width);
  const pb = softmaxRows(b, width);
  let worst = 0;
  for (let o = 0; o < a.length; o += width) {
    let d = 0;
    for (let i = o; i < o + width; i++) d += (pa[i]! - pb[i]!) ** 2;
    worst = Math.max(worst, Math.sqrt(d));
  }
  return worst;
}
