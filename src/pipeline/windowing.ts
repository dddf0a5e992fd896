/**
 * The pipeline's window stage on top of `signal/windows`: fixed windows over
 * the whole recording, or fixed windows inside labelled annotations.
 */
import { epochsFromAnnotations, fixedLengthWindows, type Window } from "../signal/windows.js";
import type { Recording } from "../recording/types.js";
import { ConfigError } from "../errors.js";
import type { WindowSpec } from "./schema.js";

/** A window plus the label its annotation maps to (when windowing by annotations). */
export interface LabelledWindow extends Window {
  mappedLabel?: string;
}

/**
 * Windows of `spec.length` seconds every `spec.stride` seconds, never across
 * a gap. With `spec.annotations`, windows are cut inside each mapped
 * annotation (an annotation without a duration counts as one window long);
 * annotations too short for a window give none.
 */
export function planWindows(rec: Recording, spec: WindowSpec): LabelledWindow[] {
  const windowSamples = Math.round(spec.length * rec.sfreq);
  const strideSamples = Math.round(spec.stride * rec.sfreq);
  if (windowSamples < 1 || strideSamples < 1) throw new ConfigError("window", `length and stride must be at least one sample at ${rec.sfreq} Hz`);
  if (!spec.annotations) return fixedLengthWindows(rec, { windowSamples, strideSamples, lastWindow: spec.last });
  const mapping = spec.annotations;
  const withSpans = { ...rec, annotations: rec.annotations.map((a) => (a.duration ? a : { ...a, duration: spec.length })) };
  const { windows: spans } = epochsFromAnnotations(withSpans, { match: Object.keys(mapping) });
  const out: LabelledWindow[] = [];
  for (const span of spans) {
    const inner = fixedLengthWindows({ ...rec, segments: [{ startSample: span.start, nSamples: span.stop - span.start, onset: span.onset }] }, {
      windowSamples,
      strideSamples,
      lastWindow: spec.last,
    });
    for (const w of inner) out.push({ ...w, label: span.label, mappedLabel: mapping[span.label!]! });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Copies windows of equal length into one float32 buffer `[nWindows, nChannels, length]`. */
export function gatherWindows(windows: readonly Window[], nChannels: number, length: number): Float32Array {
  const out = new Float32Array(windows.length * nChannels * length);
  windows.forEach((w, k) => {
    const v = w.data;
    for (let c = 0; c < nChannels; c++) {
      const from = v.offset + c * v.stride[0]!;
      out.set(v.data.subarray(from, from + length), (k * nChannels + c) * length);
    }
  });
  return out;
}
