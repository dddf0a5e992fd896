/**
 * Windows and epochs over a Recording, as zero-copy `ndarray` views of
 * `Recording.data` (`[nChannels, windowSamples]`, column stride 1). Windows
 * never span a gap between segments (EDF+D).
 */
import type { NdArray } from "ndarray";
import { ConfigError } from "../errors.js";
import { nSamples, sampleToTime, timeToSample } from "../recording/recording.js";
import type { Recording } from "../recording/types.js";

export interface Window {
  /** First data sample (index into `Recording.data`). */
  start: number;
  /** One past the last sample. */
  stop: number;
  /** Seconds from the recording's first sample to the window's first sample (gaps count). */
  onset: number;
  /** The annotation description for epochs, `null` for fixed-length windows. */
  label: string | null;
  /** Zero-copy view `[nChannels, stop − start]`. */
  data: NdArray<Float32Array>;
}

/**
 * What happens to the stretch at the end of a segment that is shorter than a
 * window:
 * - `"drop"`: no window (braindecode `drop_last_window=True`);
 * - `"align-end"`: one more window ending exactly at the segment end,
 *   overlapping the previous one (braindecode `drop_last_window=False`);
 * - `"brainomni"`: BrainOmni's `while end < n_samples` loop, which also drops
 *   the last full window when it ends exactly at the segment end.
 */
export type LastWindowPolicy = "drop" | "align-end" | "brainomni";

export interface FixedWindowOptions {
  /** Window length in samples. */
  windowSamples: number;
  /** Step between window starts in samples (default: the window length). */
  strideSamples?: number;
  /** Default `"drop"`. */
  lastWindow?: LastWindowPolicy;
}

function view(rec: Recording, start: number, stop: number): NdArray<Float32Array> {
  return rec.data.hi(rec.data.shape[0]!, stop).lo(0, start);
}

function checkPositiveInt(key: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(key, `must be a positive integer number of samples, got ${v}`);
}

/** Fixed-length windows, per segment, with an explicit last-window policy. */
export function fixedLengthWindows(rec: Recording, opts: FixedWindowOptions): Window[] {
  const size = opts.windowSamples;
  const stride = opts.strideSamples ?? size;
  checkPositiveInt("windowSamples", size);
  checkPositiveInt("strideSamples", stride);
  const policy = opts.lastWindow ?? "drop";
  if (!["drop", "align-end", "brainomni"].includes(policy)) throw new ConfigError("lastWindow", `must be "drop", "align-end" or "brainomni", got "${policy}"`);
  const out: Window[] = [];
  for (const seg of rec.segments) {
    const segEnd = seg.startSample + seg.nSamples;
    const starts: number[] = [];
    for (let s = seg.startSample; policy === "brainomni" ? s + size < segEnd : s + size <= segEnd; s += stride) starts.push(s);
    if (policy === "align-end" && seg.nSamples >= size) {
      const last = starts[starts.length - 1];
      if (last === undefined || last + size < segEnd) starts.push(segEnd - size);
    }
    for (const s of starts) out.push({ start: s, stop: s + size, onset: sampleToTime(rec, s), label: null, data: view(rec, s, s + size) });
  }
  return out;
}

export interface AnnotationEpochOptions {
  /** Keep annotations whose description matches (exact strings or a RegExp; default: all but `BAD_*`/`EDGE*`, as MNE's `events_from_annotations`). */
  match?: readonly string[] | RegExp;
  /** Seconds added to each onset for the epoch start (MNE `tmin`, default 0). */
  tmin?: number;
  /** Epoch end in seconds relative to the onset (MNE `tmax`, exclusive here); default: the annotation's own end. */
  tmax?: number;
}

export interface AnnotationEpochs {
  windows: Window[];
  /** Annotations that could not give a window (outside the data, across a gap, or of zero length), with the reason. */
  dropped: { description: string; onset: number; reason: string }[];
}

/** Epochs from annotations: one window per matching annotation. */
export function epochsFromAnnotations(rec: Recording, opts: AnnotationEpochOptions = {}): AnnotationEpochs {
  const match = opts.match ?? /^(?![Bb][Aa][Dd]|[Ee][Dd][Gg][Ee]).*$/;
  const keep = (d: string) => (match instanceof RegExp ? match.test(d) : match.includes(d));
  const tmin = opts.tmin ?? 0;
  const windows: Window[] = [];
  const dropped: AnnotationEpochs["dropped"] = [];
  for (const a of rec.annotations) {
    if (!keep(a.description)) continue;
    const t0 = a.onset + tmin;
    const t1 = opts.tmax !== undefined ? a.onset + opts.tmax : a.onset + (a.duration ?? 0);
    const drop = (reason: string) => dropped.push({ description: a.description, onset: a.onset, reason });
    if (t0 < 0) {
      drop("starts before the recording");
      continue;
    }
    const start = timeToSample(rec, t0);
    const stop = start + Math.round((t1 - t0) * rec.sfreq);
    if (stop <= start) {
      drop("zero length");
      continue;
    }
    if (stop > nSamples(rec)) {
      drop("ends after the recording");
      continue;
    }
    const seg = rec.segments.find((s) => start >= s.startSample && start < s.startSample + s.nSamples);
    if (!seg || stop > seg.startSample + seg.nSamples) {
      drop("crosses a gap between segments");
      continue;
    }
    windows.push({ start, stop, onset: sampleToTime(rec, start), label: a.description, data: view(rec, start, stop) });
  }
  return { windows, dropped };
}
