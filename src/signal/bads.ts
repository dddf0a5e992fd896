/**
 * Bad-channel tools: flat and amplitude checks, BrainOmni's PSD-distance
 * outlier rule, and spherical-spline interpolation of bad EEG channels equal
 * to MNE 1.3 `raw.interpolate_bads()` for EEG (`_make_interpolation_matrix`:
 * Legendre series `_calc_g` with stiffness 4 and 50 terms, α = 1e-5 on the
 * diagonal, scipy `pinv`).
 */
import ndarray from "ndarray";
import { ConfigError, ValueError } from "../errors.js";
import { channelData, nSamples } from "../recording/recording.js";
import type { Recording } from "../recording/types.js";
import { mnePsdOptions, welch } from "./spectrum.js";
import type { FloatArray } from "./types.js";

/** Peak-to-peak amplitude of each row (same unit as the data). */
export function peakToPeak(rows: readonly FloatArray[]): Float64Array {
  return Float64Array.from(rows, (r) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < r.length; i++) {
      const v = r[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return r.length ? hi - lo : 0;
  });
}

/** Names of data channels whose peak-to-peak amplitude is below `threshold` (V; default 1e-12 V, i.e. flat). */
export function findFlatChannels(rec: Recording, threshold = 1e-12): string[] {
  const ptp = peakToPeak(rec.channels.map((_, i) => channelData(rec, i)));
  return rec.channels.filter((_, i) => ptp[i]! < threshold).map((c) => c.name);
}

/** Names of channels whose peak-to-peak amplitude exceeds `threshold` (V, e.g. 500e-6 for EEG). */
export function findHighAmplitudeChannels(rec: Recording, threshold: number): string[] {
  if (!(threshold > 0)) throw new ConfigError("threshold", `must be a positive amplitude in volts, got ${threshold}`);
  const ptp = peakToPeak(rec.channels.map((_, i) => channelData(rec, i)));
  return rec.channels.filter((_, i) => ptp[i]! > threshold).map((c) => c.name);
}

/** numpy `percentile` with linear interpolation. */
function percentile(values: Float64Array, p: number): number {
  const a = Float64Array.from(values).sort();
  const pos = (p / 100) * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, a.length - 1);
  return a[lo]! + (a[hi]! - a[lo]!) * (pos - lo);
}

/**
 * BrainOmni's automatic bad-channel rule (`_auto_detect_bad_channels`), on
 * the good EEG channels: log of the MNE `compute_psd()` Welch PSD (+1e-16),
 * each channel's mean Euclidean distance to all channels' log-PSDs, and
 * outliers beyond `Q1 − k·IQR` or `Q3 + k·IQR` (k = 10). Returns names.
 * (MNE also leaves out `BAD_*` annotated spans; this uses all samples.)
 */
export function psdOutlierChannels(rec: Recording, threshold = 10): string[] {
  const bads = new Set(rec.bads);
  const idx = rec.channels.flatMap((c, i) => (c.kind === "eeg" && !bads.has(c.name) ? [i] : []));
  if (idx.length < 2) return [];
  const opts = mnePsdOptions(nSamples(rec));
  const logs = idx.map((i) => welch(channelData(rec, i), rec.sfreq, opts).psd.map((v) => Math.log(v + 1e-16)));
  const n = idx.length;
  const mean = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let s = 0;
      const la = logs[a]!;
      const lb = logs[b]!;
      for (let k = 0; k < la.length; k++) s += (la[k]! - lb[k]!) ** 2;
      const d = Math.sqrt(s);
      mean[a]! += d;
      mean[b]! += d;
    }
  }
  for (let a = 0; a < n; a++) mean[a]! /= n;
  const q1 = percentile(mean, 25);
  const q3 = percentile(mean, 75);
  const iqr = q3 - q1;
  return idx.filter((_, k) => mean[k]! > q3 + threshold * iqr || mean[k]! < q1 - threshold * iqr).map((i) => rec.channels[i]!.name);
}

/** MNE `_calc_g`: Σ_{n=1}^{50} (2n+1)/(4π·n⁴(n+1)⁴)·P_n(x). */
function calcG(x: number): number {
  let p0 = 1;
  let p1 = x;
  let s = 0;
  for (let n = 1; n <= 50; n++) {
    s += ((2 * n + 1) / (n ** 4 * (n + 1) ** 4 * 4 * Math.PI)) * p1;
    const p2 = ((2 * n + 1) * x * p1 - n * p0) / (n + 1);
    p0 = p1;
    p1 = p2;
  }
  return s;
}

/** Eigen-decomposition of a symmetric matrix (cyclic Jacobi), row-major n×n. */
function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q * n + q]! - A[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => A[i * n + i]!), vectors: V };
}

/** Moore–Penrose inverse of a symmetric matrix with scipy `pinv`'s cutoff (max(M, N)·eps·σ_max). */
function pinvSymmetric(a: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const smax = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const cut = n * Number.EPSILON * smax;
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    if (Math.abs(values[k]!) <= cut) continue;
    const inv = 1 / values[k]!;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k]! * inv;
      for (let j = 0; j < n; j++) out[i * n + j]! += vik * vectors[j * n + k]!;
    }
  }
  return out;
}

type Vec3 = readonly [number, number, number];

function unitFrom(p: Vec3, origin: Vec3): [number, number, number] {
  const v: [number, number, number] = [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]];
  const r = Math.hypot(...v);
  if (!(r > 0)) throw new ValueError("an electrode sits at the interpolation origin");
  return [v[0] / r, v[1] / r, v[2] / r];
}

/**
 * The spherical-spline matrix `[nTo, nFrom]` mapping good-electrode signals
 * to the `to` positions (MNE `_make_interpolation_matrix`, positions in metres
 * relative to `origin`).
 */
export function sphericalSplineMatrix(from: readonly Vec3[], to: readonly Vec3[], origin: Vec3 = [0, 0, 0.04], alpha = 1e-5): Float64Array {
  const uf = from.map((p) => unitFrom(p, origin));
  const ut = to.map((p) => unitFrom(p, origin));
  const nf = uf.length;
  const m = nf + 1;
  const C = new Float64Array(m * m);
  const dot = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
  for (let i = 0; i < nf; i++) {
    for (let j = 0; j < nf; j++) C[i * m + j] = calcG(dot(uf[i]!, uf[j]!)) + (i === j ? alpha : 0);
    C[i * m + nf] = 1;
    C[nf * m + i] = 1;
  }
  const Cinv = pinvSymmetric(C, m);
  const out = new Float64Array(ut.length * nf);
  for (let t = 0; t < ut.length; t++) {
    const row = Float64Array.from({ length: m }, (_, j) => (j < nf ? calcG(dot(ut[t]!, uf[j]!)) : 1));
    for (let j = 0; j < nf; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += row[k]! * Cinv[k * m + j]!;
      out[t * nf + j] = s;
    }
  }
  return out;
}

export interface InterpolateBadsOptions {
  /** Sphere origin in metres, head frame (default BrainOmni's `(0, 0, 0.04)`; MNE's `"auto"` head-shape fit is not implemented). */
  origin?: Vec3;
  /** Electrode positions in metres by channel name; default `channel.sensor.position`. */
  positions?: Record<string, Vec3>;
  /** Clear the interpolated channels from `bads` (default true, MNE's `reset_bads`). */
  resetBads?: boolean;
}

/**
 * Replaces bad EEG channels by spherical-spline interpolation from the good
 * EEG channels (MNE 1.3 `interpolate_bads` for EEG, with a fixed origin).
 * Returns a new Recording; non-EEG bads are left as they are.
 */
export function interpolateBads(rec: Recording, opts: InterpolateBadsOptions = {}): Recording {
  const bads = new Set(rec.bads);
  const eeg = rec.channels.flatMap((c, i) => (c.kind === "eeg" ? [i] : []));
  const badIdx = eeg.filter((i) => bads.has(rec.channels[i]!.name));
  const goodIdx = eeg.filter((i) => !bads.has(rec.channels[i]!.name));
  const ns = nSamples(rec);
  const nc = rec.channels.length;
  const buf = new Float32Array(nc * ns);
  for (let i = 0; i < nc; i++) buf.set(channelData(rec, i), i * ns);
  const out: Recording = { ...rec, data: ndarray(buf, [nc, ns]), channels: rec.channels.map((c) => ({ ...c })), bads: [...rec.bads] };
  if (badIdx.length === 0) return out;
  if (goodIdx.length < 3) throw new ValueError(`need at least 3 good EEG channels to interpolate, have ${goodIdx.length}`);
  const pos = (i: number): Vec3 => {
    const c = rec.channels[i]!;
    const p = opts.positions?.[c.name] ?? c.sensor?.position;
    if (!p || p.length !== 3 || !p.every(Number.isFinite)) throw new ValueError(`no electrode position for EEG channel "${c.name}" (set a montage or pass positions)`);
    return p as Vec3;
  };
  const M = sphericalSplineMatrix(goodIdx.map(pos), badIdx.map(pos), opts.origin ?? [0, 0, 0.04]);
  const goods = goodIdx.map((i) => channelData(rec, i));
  const acc = new Float64Array(ns);
  badIdx.forEach((bi, t) => {
    acc.fill(0);
    goods.forEach((g, j) => {
      const w = M[t * goodIdx.length + j]!;
      for (let k = 0; k < ns; k++) acc[k]! += w * g[k]!;
    });
    buf.subarray(bi * ns, (bi + 1) * ns).set(acc);
  });
  if (opts.resetBads ?? true) {
    const done = new Set(badIdx.map((i) => rec.channels[i]!.name));
    out.bads = rec.bads.filter((b) => !done.has(b));
  }
  return out;
}
