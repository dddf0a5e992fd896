import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serializeHeader, type EdfHeaderFields } from "../../../src/io/edf/header.js";
import { readEdf } from "../../../src/io/edf/reader.js";
import { channelData } from "../../../src/recording/recording.js";
import { toIso } from "../../../src/recording/time.js";
import type { NeurocodeWarning } from "../../../src/warnings.js";

const dir = mkdtempSync(join(tmpdir(), "nc-edf-hand-"));

/**
 * Builds an EDF+ file byte by byte: data signals of 4 samples per 1 s record
 * (digital value = record index · 10 + sample index), then annotation
 * signals whose per-record TAL text is given (`\x14`, `\x15`, `\x00` as in
 * the spec).
 */
function build(name: string, opts: { reserved?: string; labels: string[]; dimension?: string; annotations: string[][]; startTime?: string }): string {
  const nRecords = opts.annotations[0]!.length;
  const annBytes = 64;
  const header: EdfHeaderFields = {
    format: "edf",
    patientId: "X X X X",
    recordingId: "Startdate 02-JAN-2003 X X X",
    startDate: "02.01.03",
    startTime: opts.startTime ?? "10.11.12",
    reserved: opts.reserved ?? "EDF+C",
    nRecords,
    recordDuration: "1",
    signals: [
      ...opts.labels.map((label) => ({ label, transducer: "", physicalDimension: opts.dimension ?? "uV", physicalMin: "-32768", physicalMax: "32767", digitalMin: "-32768", digitalMax: "32767", prefiltering: "", samplesPerRecord: 4, reserved: "" })),
      ...opts.annotations.map(() => ({ label: "EDF Annotations", transducer: "", physicalDimension: "", physicalMin: "-1", physicalMax: "1", digitalMin: "-32768", digitalMax: "32767", prefiltering: "", samplesPerRecord: annBytes / 2, reserved: "" })),
    ],
  };
  const parts: Uint8Array[] = [serializeHeader(header)];
  for (let r = 0; r < nRecords; r++) {
    const rec = Buffer.alloc(opts.labels.length * 8 + opts.annotations.length * annBytes);
    opts.labels.forEach((_, c) => {
      for (let k = 0; k < 4; k++) rec.writeInt16LE(r * 10 + k, c * 8 + k * 2);
    });
    opts.annotations.forEach((signal, a) => {
      const text = Buffer.from(signal[r]!, "utf8");
      if (text.length > annBytes) throw new Error("TAL text too long for the test");
      text.copy(rec, opts.labels.length * 8 + a * annBytes);
    });
    parts.push(rec);
  }
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat(parts));
  return p;
}

const stamp = (t: string): string => `${t}\x14\x14\x00`;

describe("hand-made EDF+ files", () => {
  it("annotations from all annotation signals, out of order in the file, come sorted by onset", () => {
    const p = build("multi.edf", {
      labels: ["Cz"],
      annotations: [
        [stamp("+0") + "+2.5\x14late\x14\x00", stamp("+1") + "+0.25\x150\x14early\x14\x00", stamp("+2")],
        ["+1.5\x151\x14second signal\x14\x00", "", "+0\x14first\x14\x00"],
      ],
    });
    const w: NeurocodeWarning[] = [];
    const rec = readEdf(p, { onWarning: (x) => w.push(x) });
    expect(w).toEqual([]);
    expect(rec.annotations).toEqual([
      { onset: 0, duration: null, description: "first" },
      { onset: 0.25, duration: 0, description: "early" },
      { onset: 1.5, duration: 1, description: "second signal" },
      { onset: 2.5, duration: null, description: "late" },
    ]);
    expect(Array.from(channelData(rec, 0)).map((v) => Math.round(v * 1e6))).toEqual([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
  });

  it("EDF+D: gaps between record stamps are segments; the sub-second start comes from the first stamp", () => {
    const p = build("d.edf", { reserved: "EDF+D", labels: ["Cz"], annotations: [[stamp("+0.125"), stamp("+1.125"), stamp("+10.125"), stamp("+11.125")]] });
    const rec = readEdf(p, { onWarning: () => {} });
    expect(toIso(rec.startTime!)).toBe("2003-01-02T10:11:12.125Z");
    expect(rec.segments).toEqual([
      { startSample: 0, nSamples: 8, onset: 0 },
      { startSample: 8, nSamples: 8, onset: 10 },
    ]);
  });

  it("EDF+D with an overlapping record and EDF+C with a gap are read as contiguous, with a warning", () => {
    for (const [reserved, code] of [["EDF+D", "edf.records-overlap"], ["EDF+C", "edf.timekeeping-gap-in-continuous"]] as const) {
      const stamps = reserved === "EDF+D" ? ["+0", "+1", "+1.5"] : ["+0", "+1", "+5"];
      const w: NeurocodeWarning[] = [];
      const rec = readEdf(build(`o${reserved}.edf`, { reserved, labels: ["Cz"], annotations: [stamps.map(stamp)] }), { onWarning: (x) => w.push(x) });
      expect(rec.segments).toEqual([{ startSample: 0, nSamples: 12, onset: 0 }]);
      expect(w.map((x) => x.code)).toEqual([code]);
    }
  });

  it("records without a time-keeping TAL are assumed contiguous, with a warning", () => {
    const w: NeurocodeWarning[] = [];
    const rec = readEdf(build("nostamp.edf", { reserved: "EDF+D", labels: ["Cz"], annotations: [[stamp("+0"), "+7\x14no stamp here\x14\x00", stamp("+2")]] }), { onWarning: (x) => w.push(x) });
    expect(w.map((x) => x.code)).toEqual(["edf.timekeeping-missing"]);
    expect(rec.segments).toEqual([{ startSample: 0, nSamples: 12, onset: 0 }]);
    expect(rec.annotations).toEqual([{ onset: 7, duration: null, description: "no stamp here" }]);
  });

  it("MNE's text@@CHANNEL: split when CHANNEL exists, merged across channels; kept whole otherwise", () => {
    const p = build("ch.edf", {
      labels: ["EEG C3", "EEG C4"],
      annotations: [[stamp("+0") + "+0.5\x14spike@@EEG C3\x14\x00+0.5\x14spike@@EEG C4\x14\x00", stamp("+1") + "+1\x14mail@@example\x14\x00"]],
    });
    expect(readEdf(p, { onWarning: () => {} }).annotations).toEqual([
      { onset: 0.5, duration: null, description: "spike", channels: ["EEG C3", "EEG C4"] },
      { onset: 1, duration: null, description: "mail@@example" },
    ]);
    // Reading some channels keeps their part of channel-specific annotations only, as pick() does.
    expect(readEdf(p, { channels: ["EEG C4"], onWarning: () => {} }).annotations[0]).toEqual({ onset: 0.5, duration: null, description: "spike", channels: ["EEG C4"] });
  });

  it("a latin-1 µV (0xB5) in the header is micro-volts; the unit string is kept", () => {
    const rec = readEdf(build("mu.edf", { labels: ["Cz"], dimension: "\u00b5V", annotations: [[stamp("+0")]] }), { onWarning: () => {} });
    expect(rec.channels[0]).toEqual({ name: "Cz", kind: "eeg", unit: "V", origUnit: "µV" });
    expect(channelData(rec, 0)[3]).toBeCloseTo(3e-6, 12);
  });

  it("an invalid start time makes the start unknown with a warning, and the data still reads", () => {
    const w: NeurocodeWarning[] = [];
    const rec = readEdf(build("t.edf", { labels: ["Cz"], startTime: "25.61.00", annotations: [[stamp("+0")]] }), { onWarning: (x) => w.push(x) });
    expect(rec.startTime).toBeNull();
    expect(w.map((x) => x.code)).toEqual(["edf.starttime-invalid"]);
    expect(rec.data.shape).toEqual([1, 4]);
  });
});

describe("warning floods", () => {
  it("a problem repeated in every record is reported 3 times, then counted", () => {
    const w: NeurocodeWarning[] = [];
    const p = build("flood.edf", { labels: ["Cz"], annotations: [Array.from({ length: 10 }, (_, r) => stamp(`+${r}`) + "garbage\x14x\x14\x00")] });
    const rec = readEdf(p, { onWarning: (x) => w.push(x) });
    expect(w.map((x) => x.code)).toEqual(Array(4).fill("edf.tal-invalid"));
    expect(w[3]!.message).toBe("7 more like the above");
    expect(rec.segments).toEqual([{ startSample: 0, nSamples: 40, onset: 0 }]);
  });
});
