/**
 * Every case of test/reference/signal_goldens.py (scipy 1.10 / MNE 1.3):
 * max absolute error ≤ 1e-5 of the input's range, edges included.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  applyZeroPhaseFir,
  butterSos,
  designFir,
  designNotch,
  interpolateBads,
  mnePsdOptions,
  psdOutlierChannels,
  resampleFft,
  resamplePoly,
  sensortypeWiseNormalize,
  setReference,
  sosfilt,
  sosfiltfilt,
  sosfiltZi,
  welch,
  type ButterType,
  type SensorGroup,
} from "../../src/signal/index.js";
import { channelData } from "../../src/recording/recording.js";
import { golden } from "../helpers/shared.js";
import { goldenCases, goldenRows, maxAbsError, range, recordingOf, type GoldenCase } from "./helpers.js";

const TOL = 1e-5;

function run(c: GoldenCase, x: Float32Array[]): ArrayLike<number>[] {
  const p = c.params as Record<string, any>;
  switch (c.op) {
    case "mne_filter":
      return applyZeroPhaseFir(x, designFir(p.sfreq, p.l_freq, p.h_freq));
    case "mne_notch":
      return applyZeroPhaseFir(x, designNotch(p.sfreq, p.freqs));
    case "mne_resample":
      return resampleFft(x, p.up, p.down);
    case "resample_poly":
      return x.map((r) => resamplePoly(r, p.up, p.down));
    case "sosfiltfilt":
      return x.map((r) => sosfiltfilt(butterSos(p.order, p.cutoff, p.btype as ButterType, p.sfreq), r));
    case "sosfilt_zi_step": {
      const sos = butterSos(p.order, p.cutoff, p.btype as ButterType, p.sfreq);
      return x.map((r) => sosfilt(sos, r, undefined, sosfiltZi(sos).map((z) => z.map((v) => v * r[0]!))));
    }
    case "welch":
      return x.map((r) => welch(r, p.sfreq, p.nperseg ? { nperseg: p.nperseg } : {}).psd);
    case "mne_psd":
      return x.map((r) => welch(r, p.sfreq, mnePsdOptions(r.length)).psd);
    case "ref_average":
    case "ref_single": {
      const rec = { ...recordingOf(x, 512, goldenRowsNames()), bads: p.bads as string[] };
      const out = setReference(rec, c.op === "ref_average" ? "average" : (p.ref as string[]));
      return out.channels.map((_, i) => channelData(out, i));
    }
    case "ref_bipolar": {
      const out = setReference(recordingOf(x, 512, goldenRowsNames()), { bipolar: (p.pairs as [string, string][]).map(([a, b]) => [a, b] as const) });
      return out.channels.map((_, i) => channelData(out, i));
    }
    case "brainomni_normalize":
      return sensortypeWiseNormalize(x, p.groups as SensorGroup[]);
    case "interpolate_bads": {
      const names = p.names as string[];
      const rec = { ...recordingOf(x, 100, names), bads: p.bads as string[] };
      const out = interpolateBads(rec, { positions: p.positions, origin: [0, 0, 0.04] });
      expect(out.bads).toEqual([]);
      return out.channels.map((_, i) => channelData(out, i));
    }
    default:
      throw new Error(`unknown golden op ${c.op}`);
  }
}

/** Channel names of the test.edf excerpt. */
function goldenRowsNames(): string[] {
  return JSON.parse(readFileSync(golden("signal/edf512_channels.json"), "utf8")) as string[];
}

describe("signal goldens (scipy 1.10 / MNE 1.3)", () => {
  const cases = goldenCases();
  it("has the cases the reference script writes", () => {
    expect(cases.length).toBeGreaterThanOrEqual(38);
  });
  for (const c of cases.filter((k) => k.output !== null)) {
    it(`${c.op} on ${c.input} ${JSON.stringify(c.params).slice(0, 80)}`, () => {
      const x = goldenRows(c.input);
      const want = goldenRows(c.output!);
      const got = run(c, x);
      expect(got.length).toBe(want.length);
      // PSDs are compared relative to their own peak; signals to the input's range.
      const scale = ["welch", "mne_psd", "brainomni_normalize"].includes(c.op) ? range(want) : range(x);
      const err = maxAbsError(got, want);
      expect(err).toBeLessThanOrEqual(TOL * scale);
    });
  }
  // Recordings hold float32, so filtering and resampling them take the float32 (PFFFT) path: same goldens, same tolerance.
  for (const c of cases.filter((k) => ["mne_filter", "mne_notch", "mne_resample"].includes(k.op))) {
    it(`${c.op} in float32 on ${c.input} ${JSON.stringify(c.params).slice(0, 80)}`, () => {
      const x = goldenRows(c.input);
      const want = goldenRows(c.output!);
      const p = c.params as Record<string, any>;
      const out = want.map((r) => new Float32Array(r.length));
      if (c.op === "mne_resample") resampleFft(x, p.up, p.down, {}, out);
      else applyZeroPhaseFir(x, c.op === "mne_filter" ? designFir(p.sfreq, p.l_freq, p.h_freq) : designNotch(p.sfreq, p.freqs), out);
      expect(maxAbsError(out, want)).toBeLessThanOrEqual(TOL * range(x));
    });
  }
  it("finds BrainOmni's PSD-distance outliers", () => {
    const c = cases.find((k) => k.op === "psd_outliers")!;
    const rec = recordingOf(goldenRows(c.input), 512, goldenRowsNames());
    expect(psdOutlierChannels(rec)).toEqual(c.params["expected"]);
    expect((c.params["expected"] as string[]).length).toBe(1);
  });
});
