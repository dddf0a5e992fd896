import { toIso } from "./time.js";
import { nSamples } from "./recording.js";
import type { Recording } from "./types.js";

/**
 * A JSON-ready description of a Recording (what `neurocode info --json`
 * prints): format, rate, length, start time (ISO 8601 with fraction),
 * channels, annotations and segments.
 */
export function recordingSummary(rec: Recording): Record<string, unknown> {
  return {
    path: rec.source.path,
    format: rec.source.format,
    sfreq: rec.sfreq,
    nChannels: rec.channels.length,
    nSamples: nSamples(rec),
    durationSeconds: nSamples(rec) / rec.sfreq,
    startTime: rec.startTime ? toIso(rec.startTime) : null,
    firstSample: rec.firstSample,
    bads: rec.bads,
    channels: rec.channels.map((c) => ({
      name: c.name,
      kind: c.kind,
      unit: c.unit,
      origUnit: c.origUnit,
      sfreq: rec.sfreq,
      ...(c.sensor ? { sensor: c.sensor } : {}),
    })),
    annotations: rec.annotations.map((a) => ({
      onset: a.onset,
      duration: a.duration,
      description: a.description,
      ...(a.channels ? { channels: a.channels } : {}),
    })),
    segments: rec.segments,
    ...(rec.projectors ? { projectors: rec.projectors.map((p) => ({ description: p.description, kind: p.kind, active: p.active, nVectors: p.vectors.length, channelNames: p.channelNames })) } : {}),
    warnings: rec.source.warnings,
  };
}
