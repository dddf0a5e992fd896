import ndarray from "ndarray";
import { describe, expect, it } from "vitest";
import {
  channelData,
  copyRecording,
  createRecording,
  crop,
  cropSamples,
  pick,
  sampleToTime,
  timeToSample,
} from "../../src/recording/recording.js";
import { addSeconds, fromIso, toIso, utcTime } from "../../src/recording/time.js";
import type { ChannelInfo } from "../../src/recording/types.js";
import { ShapeError, ValueError } from "../../src/errors.js";

const ch = (name: string, kind: ChannelInfo["kind"] = "eeg"): ChannelInfo => ({ name, kind, unit: "V", origUnit: "uV" });

function ramp(nc: number, ns: number) {
  // Value encodes (channel, sample) so every view can be checked exactly.
  return Array.from({ length: nc }, (_, c) => Float32Array.from({ length: ns }, (_, i) => c * 1000 + i));
}

describe("UtcTime", () => {
  it("keeps 7-digit sub-second starts exactly and formats ISO 8601", () => {
    const t = utcTime(2020, 1, 24, 4, 5, 56, 0.3945312);
    expect(toIso(t)).toBe("2020-01-24T04:05:56.3945312Z");
    expect(fromIso(toIso(t))).toEqual(t);
    expect(toIso(utcTime(1989, 4, 24, 16, 13, 0))).toBe("1989-04-24T16:13:00Z");
  });
  it("carries fractions into whole seconds", () => {
    const t = addSeconds(utcTime(2000, 1, 1, 0, 0, 59, 0.75), 0.5);
    expect(toIso(t)).toBe("2000-01-01T00:01:00.25Z");
  });
});

describe("Recording", () => {
  it("validates shapes, names, rates, segments and bads", () => {
    expect(() => createRecording({ data: ramp(2, 4), sfreq: 10, channels: [ch("a")] })).toThrow(ShapeError);
    expect(() => createRecording({ data: ramp(2, 4), sfreq: 10, channels: [ch("a"), ch("a")] })).toThrow(/duplicate/);
    expect(() => createRecording({ data: ramp(1, 4), sfreq: 0, channels: [ch("a")] })).toThrow(ValueError);
    expect(() => createRecording({ data: ramp(1, 4), sfreq: NaN, channels: [ch("a")] })).toThrow(ValueError);
    expect(() =>
      createRecording({ data: ramp(1, 4), sfreq: 10, channels: [ch("a")], segments: [{ startSample: 0, nSamples: 3, onset: 0 }] }),
    ).toThrow(/cover 3/);
    expect(() => createRecording({ data: ramp(1, 4), sfreq: 10, channels: [ch("a")], bads: ["zz"] })).toThrow(/bad channel/);
  });

  it("picks by name, index and kind, keeping channel-specific annotations consistent", () => {
    const rec = createRecording({
      data: ramp(3, 5),
      sfreq: 10,
      channels: [ch("Fp1"), ch("EOG", "eog"), ch("Cz")],
      bads: ["Cz"],
      annotations: [
        { onset: 0.1, duration: 0.2, description: "blink", channels: ["EOG"] },
        { onset: 0.2, duration: null, description: "all" },
      ],
    });
    const p = pick(rec, ["Cz", "Fp1"]);
    expect(p.channels.map((c) => c.name)).toEqual(["Cz", "Fp1"]);
    expect(Array.from(channelData(p, 0))).toEqual([2000, 2001, 2002, 2003, 2004]);
    expect(p.annotations.map((a) => a.description)).toEqual(["all"]);
    expect(p.bads).toEqual(["Cz"]);
    expect(pick(rec, "eog").channels.map((c) => c.name)).toEqual(["EOG"]);
    expect(pick(rec, "data", { excludeBads: true }).channels.map((c) => c.name)).toEqual(["Fp1"]);
    expect(pick(rec, [1]).annotations.length).toBe(2);
    expect(() => pick(rec, ["nope"])).toThrow(/unknown channel "nope"/);
    expect(() => pick(rec, [7])).toThrow(ValueError);
  });

  it("crops as a zero-copy view and re-references annotations and start time", () => {
    const rec = createRecording({
      data: ramp(2, 100),
      sfreq: 10,
      channels: [ch("a"), ch("b")],
      startTime: utcTime(2020, 1, 1, 0, 0, 0, 0.5),
      annotations: [
        { onset: 1.0, duration: 2.0, description: "x" },
        { onset: 5.0, duration: null, description: "y" },
        { onset: 9.5, duration: 0, description: "z" },
      ],
    });
    const c = crop(rec, 2.0, 6.0);
    expect(c.data.shape).toEqual([2, 40]);
    expect(channelData(c, 1)[0]).toBe(1020);
    expect(c.data.data).toBe(rec.data.data); // a view
    expect(c.firstSample).toBe(20);
    expect(toIso(c.startTime!)).toBe("2020-01-01T00:00:02.5Z");
    expect(c.annotations).toEqual([
      { onset: 0, duration: 1.0, description: "x" },
      { onset: 3.0, duration: null, description: "y" },
    ]);
    const copy = copyRecording(c);
    expect(copy.data.data).not.toBe(rec.data.data);
    expect(Array.from(channelData(copy, 0))).toEqual(Array.from(channelData(c, 0)));
    expect(() => crop(rec, 5, 2)).toThrow(ValueError);
  });

  it("maps time and samples through real gaps (EDF+D segments)", () => {
    // Two 1-s segments at 10 Hz with a 3-s gap: the second starts at t = 4 s.
    const rec = createRecording({
      data: ramp(1, 20),
      sfreq: 10,
      channels: [ch("a")],
      segments: [
        { startSample: 0, nSamples: 10, onset: 0 },
        { startSample: 10, nSamples: 10, onset: 4 },
      ],
    });
    expect(sampleToTime(rec, 9)).toBeCloseTo(0.9, 12);
    expect(sampleToTime(rec, 10)).toBe(4);
    expect(sampleToTime(rec, 15)).toBeCloseTo(4.5, 12);
    expect(timeToSample(rec, 2.0)).toBe(10); // inside the gap → first sample after it
    expect(timeToSample(rec, 4.5)).toBe(15);
    const c = cropSamples(rec, 5, 15);
    expect(c.segments).toEqual([
      { startSample: 0, nSamples: 5, onset: 0 },
      { startSample: 5, nSamples: 5, onset: 3.5 },
    ]);
  });

  it("accepts an ndarray and rejects a non-unit column stride", () => {
    const buf = Float32Array.from({ length: 6 }, (_, i) => i);
    const ok = createRecording({ data: ndarray(buf, [2, 3]), sfreq: 1, channels: [ch("a"), ch("b")] });
    expect(Array.from(channelData(ok, 1))).toEqual([3, 4, 5]);
    expect(() => createRecording({ data: ndarray(buf, [3, 2]).transpose(1, 0), sfreq: 1, channels: [ch("a"), ch("b")] })).toThrow(/column stride/);
  });
});
