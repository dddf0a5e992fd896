/** Recording-level wrappers: goldens through Recordings, segments, picks, worker threads, and typed errors. */
import { describe, expect, it } from "vitest";
import { loadBipolarMontage, montagePairs } from "../../src/sensors/bipolar.js";
import { ConfigError, ValueError } from "../../src/errors.js";
import { channelData, createRecording, nSamples } from "../../src/recording/recording.js";
import type { Recording } from "../../src/recording/types.js";
import ndarray from "ndarray";
import { sharedSamples } from "../../src/signal/parallel.js";
import {
  applyZeroPhaseFir,
  designFir,
  filterRecording,
  notchFilter,
  resampleFft,
  resampleRecording,
  setReference,
  workersUnavailableReason,
} from "../../src/signal/index.js";
import { goldenCases, goldenRows, maxAbsError, range, recordingOf, sinusoids } from "./helpers.js";

function rows(rec: Recording): Float32Array[] {
  return rec.channels.map((_, i) => channelData(rec, i));
}

function goldenOf(op: string, input: string, match: (p: Record<string, unknown>) => boolean): Float32Array[] {
  const c = goldenCases().find((k) => k.op === op && k.input === input && match(k.params))!;
  return goldenRows(c.output!);
}

describe("filterRecording / notchFilter / resampleRecording", () => {
  const x = goldenRows("syn256");
  const rec = recordingOf(x, 256);
  const tol = 1e-5 * range(x);

  it("match MNE on one thread and across worker threads, identically", () => {
    const want = goldenOf("mne_filter", "syn256", (p) => p["l_freq"] === 0.1 && p["h_freq"] === 96);
    const one = filterRecording(rec, 0.1, 96, { threads: 1 });
    const two = filterRecording(rec, 0.1, 96, { threads: 2, minWork: 0 });
    expect(workersUnavailableReason()).toBeNull();
    expect(maxAbsError(rows(one), want)).toBeLessThanOrEqual(tol);
    expect(maxAbsError(rows(two), rows(one))).toBe(0);
    const notch = notchFilter(rec, [50, 60], { threads: 2, minWork: 0 });
    expect(maxAbsError(rows(notch), goldenOf("mne_notch", "syn256", () => true))).toBeLessThanOrEqual(tol);
    const res = resampleRecording(rec, 200, { threads: 2, minWork: 0 });
    expect(res.sfreq).toBe(200);
    expect(maxAbsError(rows(res), goldenOf("mne_resample", "syn256", (p) => p["up"] === 200))).toBeLessThanOrEqual(tol);
    const iir = filterRecording(rec, 1, 40, { method: "iir", threads: 2, minWork: 0 });
    expect(maxAbsError(rows(iir), goldenOf("sosfiltfilt", "syn256", (p) => JSON.stringify(p["cutoff"]) === "[1,40]"))).toBeLessThanOrEqual(tol);
    // The input is untouched.
    expect(maxAbsError(rows(rec), x)).toBe(0);
  });

  it("filters each segment on its own and resamples segments to MNE's lengths", () => {
    const a = sinusoids(3000, 256, [[10, 1], [60, 1]], 0.5);
    const b = sinusoids(2001, 256, [[7, 1]], -0.5);
    const seg = createRecording({
      data: [Float32Array.from([...a, ...b])],
      sfreq: 256,
      channels: [{ name: "Cz", kind: "eeg", unit: "V", origUnit: "V" }],
      segments: [
        { startSample: 0, nSamples: 3000, onset: 0 },
        { startSample: 3000, nSamples: 2001, onset: 20 },
      ],
      annotations: [{ onset: 21, duration: 1, description: "stim" }],
    });
    const f = filterRecording(seg, 1, 40);
    const h = designFir(256, 1, 40);
    const [fa] = applyZeroPhaseFir([a], h);
    const [fb] = applyZeroPhaseFir([b], h);
    const got = channelData(f, 0);
    expect(maxAbsError([got.subarray(0, 3000)], [fa!])).toBeLessThan(1e-6);
    expect(maxAbsError([got.subarray(3000)], [fb!])).toBeLessThan(1e-6);
    const r = resampleRecording(seg, 100);
    expect(r.segments).toEqual([
      { startSample: 0, nSamples: 1172, onset: 0 },
      { startSample: 1172, nSamples: 782, onset: 20 },
    ]);
    expect(r.annotations).toEqual(seg.annotations);
    const [ra] = resampleFft([a], 100, 256);
    expect(maxAbsError([channelData(r, 0).subarray(0, 1172)], [ra!])).toBeLessThan(1e-6);
  });

  it("leaves non-data channels and spans under skip annotations alone", () => {
    const eeg = sinusoids(2560, 256, [[60, 1]]);
    const stim = Float32Array.from({ length: 2560 }, (_, i) => (i % 500 === 0 ? 5 : 0));
    const r = createRecording({
      data: [eeg, stim],
      sfreq: 256,
      channels: [
        { name: "Cz", kind: "eeg", unit: "V", origUnit: "V" },
        { name: "STI", kind: "stim", unit: "", origUnit: "" },
      ],
      annotations: [{ onset: 4, duration: 2, description: "BAD_ACQ_SKIP" }],
    });
    const f = filterRecording(r, 1, 40);
    expect(Array.from(channelData(f, 1))).toEqual(Array.from(stim));
    expect(Array.from(channelData(f, 0).subarray(1024, 1536))).toEqual(Array.from(eeg.subarray(1024, 1536)));
    expect(Math.abs(channelData(f, 0)[512]!)).toBeLessThan(0.01);
  });

  it("reports bad input with typed errors", () => {
    expect(() => filterRecording(rec, 1, 128)).toThrow(ValueError);
    expect(() => filterRecording(rec, -1, 40)).toThrow(ValueError);
    expect(() => notchFilter(rec, [200])).toThrow(ValueError);
    expect(() => notchFilter(rec, [])).toThrow(ConfigError);
    expect(() => resampleRecording(rec, 0)).toThrow(ValueError);
    expect(() => designFir(256, 1, 40, { filterLength: "ten seconds" })).toThrow(ConfigError);
    expect(() => designFir(256, 1, 40, { filterLength: 11 })).toThrow(ConfigError);
    const nan = recordingOf([Float32Array.from([1, NaN, 3, 4])], 256);
    expect(() => filterRecording(nan, 1, 40)).toThrow(ValueError);
    // A non-finite sample past the last multiple of 4 (the scan's tail) is found and located too.
    const inf = recordingOf([Float32Array.from({ length: 9 }, (_, i) => i), Float32Array.from({ length: 9 }, (_, i) => (i === 8 ? -Infinity : i))], 256);
    expect(() => notchFilter(inf, [50])).toThrow(/channel "CH1" has a non-finite value at sample 8/);
    expect(() => resampleRecording(nan, 100)).toThrow(/sample 1/);
    expect(() => applyZeroPhaseFir([new Float32Array(10)], new Float64Array(4))).toThrow(ValueError);
    expect(() => setReference(rec, ["nope"])).toThrow(ValueError);
    expect(() => setReference(rec, { bipolar: TCP })).toThrow(ValueError);
  });
});

const TCP = montagePairs(loadBipolarMontage("tcp-eegdm"));

describe("setReference with the TCP montage", () => {
  it("builds EEGDM's 22 derivations in order, anode minus cathode", () => {
    // TUH channel names; the montage's labels (Fp1, Cz...) match them after normalisation.
    const names = [...new Set(TCP.flatMap(([a, c]) => [a, c]))].map((l) => `EEG ${l.toUpperCase()}-REF`);
    const data = names.map((_, i) => Float32Array.from({ length: 8 }, (_, t) => i * 10 + t));
    const rec = recordingOf(data, 200, names);
    const bip = setReference(rec, { bipolar: TCP });
    expect(bip.channels.map((c) => c.name)).toEqual(["FP1-F7", "F7-T3", "T3-T5", "T5-O1", "FP2-F8", "F8-T4", "T4-T6", "T6-O2", "A1-T3", "T3-C3", "C3-CZ", "C4-CZ", "T4-C4", "A2-T4", "FP1-F3", "F3-C3", "C3-P3", "P3-O1", "FP2-F4", "F4-C4", "C4-P4", "P4-O2"]);
    const ia = names.indexOf("EEG FP1-REF");
    const ic = names.indexOf("EEG F7-REF");
    expect(channelData(bip, 0)[3]).toBe((ia - ic) * 10);
    expect(nSamples(bip)).toBe(8);
  });
});

describe("setReference", () => {
  /** `rec` with its data copied into shared memory (as signal operations' outputs are), so threads may split it by time. */
  function shared(rec: Recording): Recording {
    const ns = nSamples(rec);
    const buf = sharedSamples(rec.channels.length * ns);
    rows(rec).forEach((r, i) => buf.set(r, i * ns));
    return { ...rec, data: ndarray(buf, [rec.channels.length, ns]) };
  }

  it("subtracts the good channels' mean (or the named channels'), bads untouched; threads split shared data by time, same numbers", () => {
    const data = [0, 1, 2, 3, 4, 5].map((c) => sinusoids(20_000, 256, [[2 + c, 1 + c / 10]], c * 0.3));
    const names = data.map((_, c) => `C${c}`);
    const t = 12_345;
    for (const spec of ["average", ["C1", "C4"]] as const) {
      const one = setReference({ ...recordingOf(data, 256, names), bads: ["C5"] }, spec, { threads: 1 });
      const from = spec === "average" ? [0, 1, 2, 3, 4] : [1, 4];
      const mean = from.reduce((a, i) => a + data[i]![t]!, 0) / from.length;
      for (const c of [0, 2, 4]) expect(channelData(one, c)[t]).toBeCloseTo(data[c]![t]! - mean, 6);
      expect(Array.from(channelData(one, 5))).toEqual(Array.from(data[5]!));
      const two = setReference(shared({ ...recordingOf(data, 256, names), bads: ["C5"] }), spec, { threads: 2, minWork: 0 });
      expect(maxAbsError(rows(two), rows(one))).toBe(0);
      const rec = shared({ ...recordingOf(data, 256, names), bads: ["C5"] });
      expect(setReference(rec, spec, { inPlace: true, threads: 2, minWork: 0 })).toBe(rec);
      expect(maxAbsError(rows(rec), rows(one))).toBe(0);
    }
    expect(workersUnavailableReason()).toBeNull();
  });
});

describe("inPlace resampling", () => {
  function segmented(): Recording {
    const rows = [0, 1, 2, 3, 4].map((c) => sinusoids(5001, 256, [[3 + c, 1], [60, 0.2]], c));
    return createRecording({
      data: rows,
      sfreq: 256,
      channels: rows.map((_, c) => ({ name: `C${c}`, kind: "eeg" as const, unit: "V", origUnit: "V" })),
      segments: [
        { startSample: 0, nSamples: 3000, onset: 0 },
        { startSample: 3000, nSamples: 2001, onset: 20 },
      ],
    });
  }

  it("writes a lower rate into the recording's own buffer, strided, with a copy's numbers (FFT and polyphase, segments, threads)", () => {
    for (const method of ["fft", "polyphase"] as const) {
      for (const threads of [1, 2]) {
        const copy = resampleRecording(segmented(), 200, { method });
        const rec = segmented();
        const buffer = rec.data.data;
        const same = resampleRecording(rec, 200, { method, inPlace: true, threads, minWork: 0 });
        expect(same).toBe(rec);
        expect(same.data.data).toBe(buffer);
        expect(same.data.stride[0]).toBe(5001);
        expect(same.sfreq).toBe(200);
        expect(same.segments).toEqual(copy.segments);
        expect(nSamples(same)).toBe(nSamples(copy));
        expect(maxAbsError(rows(same), rows(copy))).toBe(0);
      }
    }
  });

  it("updates the recording with a new buffer for a higher rate", () => {
    const copy = resampleRecording(segmented(), 512);
    const rec = segmented();
    const buffer = rec.data.data;
    expect(resampleRecording(rec, 512, { inPlace: true })).toBe(rec);
    expect(rec.data.data).not.toBe(buffer);
    expect(maxAbsError(rows(rec), rows(copy))).toBe(0);
  });
});

describe("inPlace filtering", () => {
  it("writes into the input's buffer and gives the same numbers as a copy", () => {
    const x = goldenRows("syn256");
    const a = recordingOf(x, 256);
    const copy = notchFilter(filterRecording(a, 1, 40), [50]);
    const same = notchFilter(filterRecording(a, 1, 40, { inPlace: true }), [50], { inPlace: true, threads: 2, minWork: 0 });
    expect(same).toBe(a);
    expect(maxAbsError(rows(same), rows(copy))).toBe(0);
    const refCopy = setReference(copy, "average");
    expect(setReference(same, "average", { inPlace: true })).toBe(a);
    expect(maxAbsError(rows(a), rows(refCopy))).toBe(0);
  });
});
