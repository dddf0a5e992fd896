import { readFileSync } from "node:fs";
import { readNpy } from "../../src/io/npy.js";
import { createRecording } from "../../src/recording/recording.js";
import type { ChannelInfo, ChannelKind, Recording } from "../../src/recording/types.js";
import { golden } from "../helpers/shared.js";

/** Rows of a 2-D float32 golden `.npy` (zero-copy views). */
export function goldenRows(name: string): Float32Array[] {
  const a = readNpy(golden(`signal/${name}.npy`));
  const data = a.data as Float32Array;
  if (a.shape.length === 1) return [data];
  const [r, c] = a.shape as [number, number];
  return Array.from({ length: r }, (_, i) => data.subarray(i * c, (i + 1) * c));
}

export interface GoldenCase {
  op: string;
  input: string;
  output: string | null;
  params: Record<string, unknown>;
}

export function goldenCases(): GoldenCase[] {
  return JSON.parse(readFileSync(golden("signal/cases.json"), "utf8")) as GoldenCase[];
}

/** Max |a − b| over rows, and the range (max − min) of `scale`. */
export function maxAbsError(got: ArrayLike<number>[], want: ArrayLike<number>[]): number {
  let e = 0;
  want.forEach((w, i) => {
    const g = got[i]!;
    if (g.length !== w.length) throw new Error(`row ${i}: length ${g.length}, expected ${w.length}`);
    for (let k = 0; k < w.length; k++) e = Math.max(e, Math.abs(g[k]! - w[k]!));
  });
  return e;
}

export function range(rows: ArrayLike<number>[]): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) for (let k = 0; k < r.length; k++) {
    lo = Math.min(lo, r[k]!);
    hi = Math.max(hi, r[k]!);
  }
  return hi - lo;
}

/** A Recording over rows (copied) with the given names and kind. */
export function recordingOf(rows: Float32Array[], sfreq: number, names?: string[], kind: ChannelKind = "eeg"): Recording {
  const channels: ChannelInfo[] = rows.map((_, i) => ({ name: names?.[i] ?? `CH${i}`, kind, unit: "V", origUnit: "V" }));
  return createRecording({ data: rows.map((r) => Float32Array.from(r)), sfreq, channels });
}

/** Deterministic multichannel test signal: sum of sinusoids (Hz, amplitude) plus an offset per channel. */
export function sinusoids(n: number, sfreq: number, parts: [number, number][], offset = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = offset;
    for (const [f, a] of parts) v += a * Math.sin((2 * Math.PI * f * i) / sfreq);
    x[i] = v;
  }
  return x;
}
