import ndarray from "ndarray";
import { ValueError } from "../../errors.js";
import { channelData, nSamples } from "../../recording/recording.js";
import type { Projector, Recording } from "../../recording/types.js";

/** An SSP projection `P = I − U Uᵀ` over a list of channels (`u` is `[nChannels][nComponents]`, orthonormal columns). */
export interface SspProjection {
  channelNames: string[];
  u: Float64Array[];
  nComponents: number;
}

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (n ≤ a few dozen). */
function symmetricEigen(a: number[][]): { values: number[]; vectors: number[][] } {
  const n = a.length;
  const m = a.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(m[p]![q]!) < 1e-300) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * m[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k]![p]!, mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p]![k]!, mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!, vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: m.map((r, i) => r[i]!), vectors: v };
}

/**
 * MNE's `_make_projector`: the projection that removes the span of the
 * projectors' vectors, restricted to `channelNames` minus `bads`. Each vector
 * is scaled to unit norm over the kept channels; directions whose singular
 * value is below 1 % of the largest are dropped as linearly dependent.
 * `includeActive` also uses projectors already applied (default: only inactive ones).
 */
export function makeProjection(projectors: readonly Projector[], channelNames: readonly string[], bads: readonly string[] = [], includeActive = false): SspProjection {
  const nch = channelNames.length;
  const bad = new Set(bads);
  const cols: Float64Array[] = [];
  for (const p of projectors) {
    if (p.active && !includeActive) continue;
    if (new Set(p.channelNames).size !== p.channelNames.length) throw new ValueError(`projector "${p.description}" lists a channel twice`);
    const where = new Map(p.channelNames.map((n, i) => [n, i]));
    for (const vec of p.vectors) {
      const col = new Float64Array(nch);
      channelNames.forEach((n, c) => {
        const j = where.get(n);
        if (j !== undefined && !bad.has(n)) col[c] = vec[j]!;
      });
      const norm = Math.hypot(...col);
      if (norm > 0) {
        for (let c = 0; c < nch; c++) col[c]! /= norm;
      }
      cols.push(col);
    }
  }
  const empty = { channelNames: [...channelNames], u: [], nComponents: 0 };
  if (cols.length === 0 || cols.every((c) => c.every((x) => x === 0))) return empty;
  // SVD of the nch×nvec matrix through the eigenvectors of its small Gram matrix.
  const gram = cols.map((a) => cols.map((b) => a.reduce((s, x, i) => s + x * b[i]!, 0)));
  const { values, vectors } = symmetricEigen(gram);
  const order = values.map((_, i) => i).sort((i, j) => values[j]! - values[i]!);
  const s0 = Math.sqrt(Math.max(values[order[0]!]!, 0));
  const u: Float64Array[] = [];
  for (const k of order) {
    const s = Math.sqrt(Math.max(values[k]!, 0));
    if (!(s / s0 > 1e-2)) continue;
    const col = new Float64Array(nch);
    cols.forEach((a, j) => {
      const w = vectors[j]![k]! / s;
      for (let c = 0; c < nch; c++) col[c]! += a[c]! * w;
    });
    u.push(col);
  }
  if (u.length >= nch) throw new ValueError(`applying ${u.length} projection components to ${nch} channels would leave no signal`);
  return { channelNames: [...channelNames], u, nComponents: u.length };
}

/** Applies `P = I − U Uᵀ` to a vector of channel values (one sample), in place. */
export function projectSample(proj: SspProjection, x: Float64Array): void {
  for (const col of proj.u) {
    let dot = 0;
    for (let c = 0; c < x.length; c++) dot += col[c]! * x[c]!;
    for (let c = 0; c < x.length; c++) x[c]! -= dot * col[c]!;
  }
}

/**
 * A copy of the Recording with its inactive SSP projectors applied (MNE's
 * `raw.apply_proj()`): bad channels are left out of the projection, and the
 * projectors are marked active. Data are copied; the input is unchanged.
 */
export function applyProjectors(rec: Recording): Recording {
  const projectors = rec.projectors ?? [];
  const proj = makeProjection(projectors, rec.channels.map((c) => c.name), rec.bads);
  const nc = rec.channels.length;
  const ns = nSamples(rec);
  const buf = new Float32Array(nc * ns);
  const rows = rec.channels.map((_, c) => channelData(rec, c));
  rows.forEach((r, c) => buf.set(r, c * ns));
  if (proj.nComponents > 0) {
    const used = rec.channels.map((_, c) => proj.u.some((col) => col[c] !== 0));
    const x = new Float64Array(nc);
    for (let t = 0; t < ns; t++) {
      for (let c = 0; c < nc; c++) x[c] = used[c] ? rows[c]![t]! : 0;
      projectSample(proj, x);
      for (let c = 0; c < nc; c++) if (used[c]) buf[c * ns + t] = x[c]!;
    }
  }
  return {
    ...rec,
    data: ndarray(buf, [nc, ns]),
    projectors: projectors.map((p) => ({ ...p, active: true })),
  };
}
