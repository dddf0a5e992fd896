import ndarray, { type NdArray } from "ndarray";
import { ShapeError, ValueError } from "../errors.js";
import type { Annotation, ChannelInfo, ChannelKind, Recording, RecordingSource, Segment } from "./types.js";
import { addSeconds, type UtcTime } from "./time.js";

/** Number of channels. */
export function nChannels(rec: Recording): number {
  return rec.data.shape[0]!;
}

/** Number of samples per channel. */
export function nSamples(rec: Recording): number {
  return rec.data.shape[1]!;
}

/** Duration of the data in seconds (gaps of EDF+D not counted). */
export function durationSeconds(rec: Recording): number {
  return nSamples(rec) / rec.sfreq;
}

/** The samples of channel `i` as a zero-copy contiguous view. */
export function channelData(rec: Recording, i: number): Float32Array {
  const { data } = rec;
  if (i < 0 || i >= data.shape[0]!) throw new ValueError(`channel index ${i} out of range [0, ${data.shape[0]})`);
  const start = data.offset + i * data.stride[0]!;
  return data.data.subarray(start, start + data.shape[1]!);
}

/** Index of a channel by name, or a `ValueError` naming the unknown channel. */
export function channelIndex(rec: Recording, name: string): number {
  const i = rec.channels.findIndex((c) => c.name === name);
  if (i < 0) throw new ValueError(`unknown channel "${name}" (have: ${rec.channels.slice(0, 8).map((c) => c.name).join(", ")}${rec.channels.length > 8 ? ", ..." : ""})`);
  return i;
}

export interface CreateRecordingOptions {
  /** `[nChannels, nSamples]` float32 data in SI units, or one Float32Array per channel. */
  data: NdArray<Float32Array> | Float32Array[];
  sfreq: number;
  channels: ChannelInfo[];
  firstSample?: number;
  startTime?: UtcTime | null;
  bads?: string[];
  annotations?: Annotation[];
  segments?: Segment[];
  source?: Partial<RecordingSource>;
}

/**
 * Builds a Recording and checks its invariants (shapes, unique names, a
 * positive rate, segments that tile the data).
 */
export function createRecording(opts: CreateRecordingOptions): Recording {
  let data: NdArray<Float32Array>;
  if (Array.isArray(opts.data)) {
    const rows = opts.data;
    const n = rows[0]?.length ?? 0;
    const buf = new Float32Array(rows.length * n);
    rows.forEach((r, i) => {
      if (r.length !== n) throw new ShapeError(`channel ${i} data`, [n], [r.length]);
      buf.set(r, i * n);
    });
    data = ndarray(buf, [rows.length, n]);
  } else {
    data = opts.data;
  }
  if (data.dimension !== 2) throw new ShapeError("Recording data", ["nChannels", "nSamples"], data.shape);
  if (data.shape[1]! > 1 && data.stride[1] !== 1) throw new ValueError("Recording data must have a column stride of 1");
  if (data.shape[0] !== opts.channels.length) {
    throw new ShapeError("Recording data", [opts.channels.length, "nSamples"], data.shape);
  }
  if (!(opts.sfreq > 0) || !Number.isFinite(opts.sfreq)) throw new ValueError(`sfreq must be a positive number of Hz, got ${opts.sfreq}`);
  const seen = new Set<string>();
  for (const c of opts.channels) {
    if (seen.has(c.name)) throw new ValueError(`duplicate channel name "${c.name}"`);
    seen.add(c.name);
  }
  const n = data.shape[1]!;
  const segments = opts.segments ?? [{ startSample: 0, nSamples: n, onset: 0 }];
  let expected = 0;
  for (const s of segments) {
    if (s.startSample !== expected) throw new ValueError(`segments must tile the data: segment at sample ${s.startSample}, expected ${expected}`);
    expected += s.nSamples;
  }
  if (expected !== n && !(segments.length === 0 && n === 0)) {
    throw new ValueError(`segments cover ${expected} samples but data has ${n}`);
  }
  for (const b of opts.bads ?? []) if (!seen.has(b)) throw new ValueError(`bad channel "${b}" is not a channel`);
  return {
    data,
    sfreq: opts.sfreq,
    firstSample: opts.firstSample ?? 0,
    startTime: opts.startTime ?? null,
    channels: opts.channels,
    bads: opts.bads ?? [],
    annotations: opts.annotations ?? [],
    segments,
    source: { path: "<memory>", format: "memory", warnings: [], ...opts.source },
  };
}

/** Deep copy: new data buffer, new metadata arrays. */
export function copyRecording(rec: Recording): Recording {
  const nc = nChannels(rec);
  const ns = nSamples(rec);
  const buf = new Float32Array(nc * ns);
  for (let i = 0; i < nc; i++) buf.set(channelData(rec, i), i * ns);
  return {
    ...rec,
    data: ndarray(buf, [nc, ns]),
    startTime: rec.startTime ? { ...rec.startTime } : null,
    channels: rec.channels.map((c) => ({ ...c, ...(c.sensor ? { sensor: structuredClone(c.sensor) } : {}) })),
    bads: [...rec.bads],
    annotations: rec.annotations.map((a) => ({ ...a, ...(a.channels ? { channels: [...a.channels] } : {}) })),
    segments: rec.segments.map((s) => ({ ...s })),
    source: { ...rec.source, warnings: [...rec.source.warnings] },
  };
}

/** What `pick` accepts: channel names, indices, kinds, or `"data"` (brain channels). */
export type PickSpec = readonly (string | number)[] | ChannelKind | "data" | "all";

const BRAIN: ReadonlySet<ChannelKind> = new Set(["eeg", "meg-mag", "meg-grad", "seeg", "ecog", "dbs"]);

/** Resolves a pick specification to channel indices in the order given (names/indices) or file order (kinds). */
export function pickIndices(rec: Recording, picks: PickSpec, opts: { excludeBads?: boolean } = {}): number[] {
  let idx: number[];
  if (picks === "all") idx = rec.channels.map((_, i) => i);
  else if (picks === "data") idx = rec.channels.flatMap((c, i) => (BRAIN.has(c.kind) ? [i] : []));
  else if (typeof picks === "string") idx = rec.channels.flatMap((c, i) => (c.kind === picks ? [i] : []));
  else
    idx = picks.map((p) => {
      if (typeof p === "number") {
        if (!Number.isInteger(p) || p < 0 || p >= rec.channels.length) throw new ValueError(`channel index ${p} out of range [0, ${rec.channels.length})`);
        return p;
      }
      return channelIndex(rec, p);
    });
  if (opts.excludeBads) {
    const bad = new Set(rec.bads);
    idx = idx.filter((i) => !bad.has(rec.channels[i]!.name));
  }
  return idx;
}

/**
 * A new Recording with only the picked channels (copied rows, in pick order).
 * Channel-specific annotations keep only picked channels; an annotation whose
 * channels are all dropped is dropped, as MNE does.
 */
export function pick(rec: Recording, picks: PickSpec, opts: { excludeBads?: boolean } = {}): Recording {
  const idx = pickIndices(rec, picks, opts);
  const ns = nSamples(rec);
  const buf = new Float32Array(idx.length * ns);
  idx.forEach((ci, k) => buf.set(channelData(rec, ci), k * ns));
  const channels = idx.map((i) => ({ ...rec.channels[i]! }));
  const names = new Set(channels.map((c) => c.name));
  const annotations: Annotation[] = [];
  for (const a of rec.annotations) {
    if (!a.channels) {
      annotations.push({ ...a });
      continue;
    }
    const kept = a.channels.filter((c) => names.has(c));
    if (kept.length > 0) annotations.push({ ...a, channels: kept });
  }
  return {
    ...rec,
    data: ndarray(buf, [idx.length, ns]),
    channels,
    bads: rec.bads.filter((b) => names.has(b)),
    annotations,
    segments: rec.segments.map((s) => ({ ...s })),
  };
}

/** Maps a data sample index to seconds from the first sample, through segments (gaps count). */
export function sampleToTime(rec: Recording, sample: number): number {
  for (const s of rec.segments) {
    if (sample < s.startSample + s.nSamples || s === rec.segments[rec.segments.length - 1]) {
      return s.onset + (sample - s.startSample) / rec.sfreq;
    }
  }
  return sample / rec.sfreq;
}

/**
 * Maps seconds from the first sample to the first data sample at or after
 * that time. Times inside a gap map to the first sample after the gap.
 */
export function timeToSample(rec: Recording, t: number): number {
  for (const s of rec.segments) {
    const end = s.onset + s.nSamples / rec.sfreq;
    if (t < end) {
      if (t <= s.onset) return s.startSample;
      return s.startSample + Math.min(s.nSamples, Math.ceil((t - s.onset) * rec.sfreq - 1e-9));
    }
  }
  return nSamples(rec);
}

/**
 * Samples from `tmin` to `tmax` seconds (both measured from the first sample,
 * `tmax` exclusive, default the end) as a Recording whose data is a zero-copy
 * view. Annotations are clipped and re-referenced to the new first sample;
 * segments are cut. Use `copyRecording` to detach the view.
 */
export function crop(rec: Recording, tmin = 0, tmax?: number): Recording {
  if (!Number.isFinite(tmin) || tmin < 0) throw new ValueError(`tmin must be >= 0 seconds, got ${tmin}`);
  const start = timeToSample(rec, tmin);
  const stop = tmax === undefined ? nSamples(rec) : timeToSample(rec, tmax);
  if (stop < start) throw new ValueError(`tmax (${tmax}) must not be before tmin (${tmin})`);
  return cropSamples(rec, start, stop);
}

/** Like `crop`, with data sample indices `[start, stop)`. */
export function cropSamples(rec: Recording, start: number, stop: number): Recording {
  const ns = nSamples(rec);
  if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop > ns || stop < start) {
    throw new ValueError(`sample range [${start}, ${stop}) is not within [0, ${ns})`);
  }
  const t0 = sampleToTime(rec, start);
  const segments: Segment[] = [];
  for (const s of rec.segments) {
    const a = Math.max(s.startSample, start);
    const b = Math.min(s.startSample + s.nSamples, stop);
    if (b > a) segments.push({ startSample: a - start, nSamples: b - a, onset: s.onset + (a - s.startSample) / rec.sfreq - t0 });
  }
  const t1 = stop === ns ? Infinity : sampleToTime(rec, stop);
  const annotations: Annotation[] = [];
  for (const a of rec.annotations) {
    const end = a.onset + (a.duration ?? 0);
    if (a.onset >= t1 || end < t0 || (a.duration !== null && a.duration > 0 && end <= t0)) continue;
    const onset = Math.max(a.onset, t0);
    const duration = a.duration === null ? null : Math.min(end, t1) - onset;
    annotations.push({ ...a, onset: onset - t0, duration });
  }
  const data = rec.data.hi(rec.data.shape[0]!, stop).lo(0, start);
  return {
    ...rec,
    data,
    firstSample: rec.firstSample + start,
    startTime: rec.startTime ? addSeconds(rec.startTime, t0) : null,
    annotations,
    segments: segments.length ? segments : [{ startSample: 0, nSamples: 0, onset: 0 }],
  };
}

