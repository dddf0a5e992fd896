/**
 * Normalisation of a window of channels (rows of equal length).
 *
 * BrainOmni does no per-channel z-score: `sensortypeWiseNormalize` reproduces
 * its `sensortype_wise_normalize` (per sensor group: subtract the across-
 * channel mean at each sample, then divide by one scalar standard deviation of
 * the whole group plus eps). `zscoreChannels` is the per-channel alternative
 * other models use.
 */
import { ShapeError, ValueError } from "../errors.js";
import type { ChannelInfo } from "../recording/types.js";
import type { FloatArray } from "./types.js";

/** BrainOmni's sensor groups (its `SENSOR_TYPE_DICT`: EEG 0, MAG 1, GRAD 2). */
export type SensorGroup = "eeg" | "mag" | "grad";

/** BrainOmni's eps per group, added to the group std. */
export const BRAINOMNI_EPS: Readonly<Record<SensorGroup, number>> = { eeg: 1e-5, mag: 1e-13, grad: 1e-13 };

function checkRows(rows: readonly FloatArray[]): number {
  const n = rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    if (r.length !== n) throw new ShapeError(`row ${i}`, [n], [r.length]);
  });
  return n;
}

/**
 * The BrainOmni group of each channel: from `sensor.type` when present, else
 * from the kind (`eeg`, `meg-mag`, `meg-grad`); other channels get `null` and
 * are left unchanged.
 */
export function brainOmniGroups(channels: readonly ChannelInfo[]): (SensorGroup | null)[] {
  return channels.map((c) => {
    const t = c.sensor?.type;
    if (t === "eeg" || t === "mag" || t === "grad") return t;
    if (c.kind === "eeg") return "eeg";
    if (c.kind === "meg-mag") return "mag";
    if (c.kind === "meg-grad") return "grad";
    return null;
  });
}

/**
 * BrainOmni `sensortype_wise_normalize`: for each group, x ← (x − mean over the
 * group's channels at each sample) / (std of the result over all its channels
 * and samples + eps). Returns new float32 rows (float64 accumulation).
 */
export function sensortypeWiseNormalize(rows: readonly FloatArray[], groups: readonly (SensorGroup | null)[], eps: Readonly<Record<SensorGroup, number>> = BRAINOMNI_EPS): Float32Array[] {
  const n = checkRows(rows);
  if (groups.length !== rows.length) throw new ShapeError("groups", [rows.length], [groups.length]);
  const out = rows.map((r) => Float32Array.from(r));
  for (const g of ["eeg", "mag", "grad"] as const) {
    const idx = groups.flatMap((x, i) => (x === g ? [i] : []));
    if (idx.length === 0 || n === 0) continue;
    const mean = new Float64Array(n);
    for (const i of idx) {
      const r = rows[i]!;
      for (let t = 0; t < n; t++) mean[t]! += r[t]!;
    }
    for (let t = 0; t < n; t++) mean[t]! /= idx.length;
    const centred = idx.map((i) => {
      const r = rows[i]!;
      const c = new Float64Array(n);
      for (let t = 0; t < n; t++) c[t] = r[t]! - mean[t]!;
      return c;
    });
    let s = 0;
    for (const c of centred) for (let t = 0; t < n; t++) s += c[t]!;
    const mu = s / (idx.length * n);
    let ss = 0;
    for (const c of centred) for (let t = 0; t < n; t++) ss += (c[t]! - mu) ** 2;
    const std = Math.sqrt(ss / (idx.length * n)) + eps[g];
    idx.forEach((i, k) => {
      const c = centred[k]!;
      const o = out[i]!;
      for (let t = 0; t < n; t++) o[t] = c[t]! / std;
    });
  }
  return out;
}

/** Per-channel z-score: (x − mean) / (std + eps), population std. Returns new float32 rows. */
export function zscoreChannels(rows: readonly FloatArray[], eps = 0): Float32Array[] {
  const n = checkRows(rows);
  if (n === 0) throw new ValueError("cannot z-score empty rows");
  return rows.map((r) => {
    let s = 0;
    for (let t = 0; t < n; t++) s += r[t]!;
    const m = s / n;
    let ss = 0;
    for (let t = 0; t < n; t++) ss += (r[t]! - m) ** 2;
    const sd = Math.sqrt(ss / n) + eps;
    if (sd === 0) throw new ValueError("a channel is constant: its z-score is undefined (pass eps > 0)");
    const o = new Float32Array(n);
    for (let t = 0; t < n; t++) o[t] = (r[t]! - m) / sd;
    return o;
  });
}
