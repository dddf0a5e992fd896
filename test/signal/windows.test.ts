import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { createRecording } from "../../src/recording/recording.js";
import { epochsFromAnnotations, fixedLengthWindows } from "../../src/signal/index.js";

const rec = createRecording({
  data: [Float32Array.from({ length: 1000 }, (_, i) => i)],
  sfreq: 100,
  channels: [{ name: "Cz", kind: "eeg", unit: "V", origUnit: "V" }],
  segments: [
    { startSample: 0, nSamples: 600, onset: 0 },
    { startSample: 600, nSamples: 400, onset: 10 },
  ],
  annotations: [
    { onset: 1, duration: 2, description: "sleep" },
    { onset: 5.5, duration: 1, description: "sleep" },
    { onset: 11, duration: null, description: "BAD_x" },
    { onset: 12, duration: 0.5, description: "spike" },
  ],
});

describe("fixedLengthWindows", () => {
  it("applies the last-window policy per segment", () => {
    const starts = (p: "drop" | "align-end" | "brainomni") => fixedLengthWindows(rec, { windowSamples: 200, lastWindow: p }).map((w) => w.start);
    expect(starts("drop")).toEqual([0, 200, 400, 600, 800]);
    expect(starts("brainomni")).toEqual([0, 200, 600]);
    expect(fixedLengthWindows(rec, { windowSamples: 250, lastWindow: "align-end" }).map((w) => w.start)).toEqual([0, 250, 350, 600, 750]);
    expect(fixedLengthWindows(rec, { windowSamples: 200, strideSamples: 150 }).map((w) => w.start)).toEqual([0, 150, 300, 600, 750]);
    expect(() => fixedLengthWindows(rec, { windowSamples: 0 })).toThrow(ConfigError);
  });
  it("returns zero-copy views with onsets that count gaps", () => {
    const w = fixedLengthWindows(rec, { windowSamples: 200 })[3]!;
    expect(w.onset).toBe(10);
    expect(w.data.shape).toEqual([1, 200]);
    expect(w.data.get(0, 5)).toBe(605);
    expect(w.data.data).toBe(rec.data.data);
  });
});

describe("epochsFromAnnotations", () => {
  it("cuts one window per annotation and says why others are dropped", () => {
    const { windows, dropped } = epochsFromAnnotations(rec, { tmin: -0.5 });
    expect(windows.map((w) => [w.start, w.stop, w.label])).toEqual([
      [50, 300, "sleep"],
      [750, 850, "spike"],
    ]);
    expect(dropped).toEqual([{ description: "sleep", onset: 5.5, reason: "crosses a gap between segments" }]);
    expect(epochsFromAnnotations(rec, { match: ["spike"], tmin: 0, tmax: 1 }).windows.map((w) => [w.start, w.stop])).toEqual([[800, 900]]);
  });
});
