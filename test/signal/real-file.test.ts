/** The real-file path end to end: MNE's test.edf read by neurocode's EDF reader, then filtered/resampled like MNE. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readRecording } from "../../src/io/open.js";
import { channelData } from "../../src/recording/recording.js";
import { filterRecording, notchFilter, resampleRecording } from "../../src/signal/index.js";
import { golden, sharedData } from "../helpers/shared.js";
import { goldenCases, goldenRows, maxAbsError, range } from "./helpers.js";

describe("shared/data test.edf through readRecording", () => {
  const names = JSON.parse(readFileSync(golden("signal/edf512_channels.json"), "utf8")) as string[];
  const rec = readRecording(sharedData("external/mne-python/test.edf"), { channels: names, onWarning: () => {} });
  const rows = (r: typeof rec) => r.channels.map((_, i) => channelData(r, i));
  const input = goldenRows("edf512");
  const tol = 1e-5 * range(input);
  const want = (op: string, pred: (p: Record<string, unknown>) => boolean) => goldenRows(goldenCases().find((c) => c.op === op && c.input === "edf512" && pred(c.params))!.output!);

  it("reads the same samples MNE reads", () => {
    expect(rec.sfreq).toBe(512);
    expect(maxAbsError(rows(rec), input)).toBeLessThanOrEqual(1e-7 * range(input));
  });
  it("filters, notches and resamples like MNE 1.3", () => {
    expect(maxAbsError(rows(filterRecording(rec, 0.1, 75)), want("mne_filter", () => true))).toBeLessThanOrEqual(tol);
    expect(maxAbsError(rows(notchFilter(rec, [50])), want("mne_notch", () => true))).toBeLessThanOrEqual(tol);
    expect(maxAbsError(rows(resampleRecording(rec, 256)), want("mne_resample", (p) => p["up"] === 256))).toBeLessThanOrEqual(tol);
    expect(maxAbsError(rows(filterRecording(rec, 0.5, 70, { method: "iir" })), want("sosfiltfilt", () => true))).toBeLessThanOrEqual(tol);
  });
});
