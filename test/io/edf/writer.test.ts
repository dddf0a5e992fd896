import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import ndarray from "ndarray";
import { describe, expect, it } from "vitest";
import { ValueError } from "../../../src/errors.js";
import { inferKind } from "../../../src/io/edf/channels.js";
import type { EdfHeader } from "../../../src/io/edf/header.js";
import { openEdf, readEdf } from "../../../src/io/edf/reader.js";
import { writeEdf } from "../../../src/io/edf/writer.js";
import { writeRecording } from "../../../src/io/open.js";
import { channelData, channelIndex, createRecording, crop } from "../../../src/recording/recording.js";
import { toIso } from "../../../src/recording/time.js";
import type { Annotation, Recording, Segment } from "../../../src/recording/types.js";
import type { NeurocodeWarning } from "../../../src/warnings.js";
import { golden, sharedData } from "../../helpers/shared.js";
import { WRITTEN_FIXTURES } from "./fixtures.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "nc-edfw-"));
const quiet = (list: NeurocodeWarning[] = []) => (w: NeurocodeWarning) => void list.push(w);

interface MneView {
  sha256: string;
  ch_names: string[];
  sfreq: number;
  n_times: number;
  types: string[];
  meas_date: string;
  annotations: [number, number, string][];
  positions: number[];
  channels: Record<string, { values: number[]; sum: number }>;
}
const MNE = JSON.parse(readFileSync(golden("edf/mne_written.json"), "utf8")) as { files: Record<string, MneView> };

/** Largest error a value may have after write→read: one digital step of its channel (in SI units) plus float32 rounding. */
function stepOf(path: string): number[] {
  const f = openEdf(path, { onWarning: quiet() });
  try {
    return f.dataSignals.map((i) => Math.abs(f.header.signals[i]!.gain * f.unit(i).scale));
  } finally {
    f.close();
  }
}

/** How far the worst sample of `b` is beyond one digital step (plus float32 rounding) from `a`; ≤ 0 when all are within. */
function maxExcess(a: Float32Array, b: Float32Array, step: number): number {
  let worst = -Infinity;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!) - step - Math.abs(a[k]!) * 2 ** -23);
  return a.length ? worst : 0;
}

describe("files neurocode writes, as MNE 1.3 read them (test/reference/edf_goldens.py)", () => {
  it.each(WRITTEN_FIXTURES)("$file: same bytes as the file MNE read, and the same values back", ({ file, make }) => {
    const g = MNE.files[file]!;
    const p = join(tmp(), file);
    writeEdf(p, make(), { onWarning: quiet() });
    expect(createHash("sha256").update(readFileSync(p)).digest("hex")).toBe(g.sha256);
    const rec = readEdf(p, { onWarning: quiet() });
    expect(rec.channels.map((c) => c.name)).toEqual(g.ch_names);
    expect(rec.channels.map((c) => (c.kind === "eog" ? "eeg" : c.kind))).toEqual(g.types);
    expect(rec.sfreq).toBe(g.sfreq);
    expect(toIso({ unixSeconds: rec.startTime!.unixSeconds, fraction: 0 })).toBe(g.meas_date.replace("+00:00", "Z"));
    for (const name of g.ch_names) {
      const row = channelData(rec, channelIndex(rec, name));
      g.positions.forEach((p, k) => expect(Math.abs(row[p]! - g.channels[name]!.values[k]!)).toBeLessThanOrEqual(Math.abs(g.channels[name]!.values[k]!) * 2 ** -23 + 1e-15));
    }
  });

  it("EDF+C with a sub-second start: MNE sees the onsets relative to the first sample, like neurocode", () => {
    const g = MNE.files["written_continuous.edf"]!;
    const p = join(tmp(), "c.edf");
    const orig = WRITTEN_FIXTURES[0]!.make();
    writeEdf(p, orig, { onWarning: quiet() });
    const rec = readEdf(p, { onWarning: quiet() });
    expect(toIso(rec.startTime!)).toBe("2021-03-14T15:09:26.5358979Z");
    expect(rec.annotations).toEqual(orig.annotations);
    // MNE 1.3 reads absent durations as 0 and does not split MNE's own `text@@CHANNEL` form (later MNE versions do).
    expect(g.annotations).toEqual(orig.annotations.map((a) => [a.onset, a.duration ?? 0, a.channels ? `${a.description}@@${a.channels[0]}` : a.description]));
  });

  it("EDF+D: the gap is real. MNE (#13429) joins the records and drops what lies beyond; neurocode keeps the true onsets", () => {
    const g = MNE.files["written_discontinuous.edf"]!;
    const p = join(tmp(), "d.edf");
    writeEdf(p, WRITTEN_FIXTURES[2]!.make(), { onWarning: quiet() });
    const rec = readEdf(p, { onWarning: quiet() });
    // Correct: the second 2 s segment starts 5.5 s after the first sample.
    expect(rec.segments).toEqual([
      { startSample: 0, nSamples: 256, onset: 0 },
      { startSample: 256, nSamples: 256, onset: 5.5 },
    ]);
    expect(rec.annotations).toEqual([
      { onset: 1, duration: null, description: "before gap" },
      { onset: 6, duration: 1, description: "after gap" },
    ]);
    // MNE: 512 back-to-back samples (4 s), so "after gap" at 6 s falls outside and is lost.
    expect(g.n_times).toBe(512);
    expect(g.annotations).toEqual([[1, 0, "before gap"]]);
    expect((rec.source.header as EdfHeader).reserved).toBe("EDF+D");
  });

  it("the golden folder's writer script writes exactly the fixtures (nothing else)", () => {
    const d = tmp();
    for (const f of WRITTEN_FIXTURES) writeEdf(join(d, f.file), f.make(), { onWarning: quiet() });
    expect(readdirSync(d).sort()).toEqual(Object.keys(MNE.files).sort());
  });
});

/** Sampling rates and the sample counts that make whole records at them with an exact ≤ 8-character duration. */
const RATES: [number, number][] = [
  [0.5, 1],
  [1, 1],
  [12.8, 1],
  [100, 1],
  [128, 2],
  [200, 1],
  [250, 1],
  [256, 4],
  [500, 1],
  [512, 8],
  [1000, 1],
];
const PREFIXES = ["", "EEG ", "EOG ", "ECG ", "EMG ", "Resp ", "Temp "];

const recordingArb = fc
  .record({
    format: fc.constantFrom("edf" as const, "bdf" as const),
    rate: fc.constantFrom(...RATES),
    nc: fc.integer({ min: 1, max: 5 }),
    quanta: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 3 }),
    gaps: fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 2, maxLength: 2 }),
    seed: fc.integer(),
    amp: fc.constantFrom(1e-6, 1e-4, 5e-3, 1),
    start: fc.option(fc.record({ s: fc.integer({ min: 473_385_600, max: 3_500_000_000 }), frac: fc.integer({ min: 0, max: 9_999_999 }) }), { nil: null }),
    names: fc.uniqueArray(fc.tuple(fc.constantFrom(...PREFIXES), fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,6}$/)), { minLength: 5, maxLength: 5, selector: ([, n]) => n.toLowerCase() }),
    anns: fc.array(
      fc.record({
        onset: fc.double({ min: -5, max: 1000, noNaN: true }),
        duration: fc.option(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 100, noNaN: true })), { nil: null }),
        description: fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => !/[\x00-\x1f@]/.test(s) && s.trim() === s && s !== ""),
        ch: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
      }),
      { maxLength: 12 },
    ),
  })
  .map((p): { rec: Recording; format: "edf" | "bdf" } => {
    const [sfreq, quantum] = p.rate;
    const lengths = p.quanta.map((q) => q * quantum);
    const ns = lengths.reduce((a, b) => a + b, 0);
    const names = p.names.slice(0, p.nc).map(([pre, n]) => `${pre}${n}`);
    let x = p.seed | 0;
    const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) | 0) >>> 0) / 2 ** 32;
    const rows = names.map(() => Float32Array.from({ length: ns }, () => p.amp * (2 * rnd() - 1)));
    const segments: Segment[] = [];
    let onset = 0;
    let start = 0;
    lengths.forEach((n, k) => {
      segments.push({ startSample: start, nSamples: n, onset });
      start += n;
      onset += n / sfreq + (p.gaps[k] ?? 1) / 1000;
    });
    // Channel-specific annotations keep one channel each here: the reader merges identical ones.
    const annotations: Annotation[] = p.anns.map((a) => ({
      onset: a.onset,
      duration: a.duration,
      description: a.description,
      ...(a.ch !== null && a.ch < names.length ? { channels: [names[a.ch]!] } : {}),
    }));
    annotations.sort((a, b) => a.onset - b.onset);
    const rec = createRecording({
      data: rows,
      sfreq,
      channels: names.map((name) => ({ name, kind: inferKind(name), unit: "V", origUnit: "uV" })),
      startTime: p.start ? { unixSeconds: p.start.s, fraction: p.start.frac / 1e7 } : null,
      annotations,
      segments,
    });
    return { rec, format: p.format };
  });

describe("write → read round trip (fast-check)", () => {
  it("random valid recordings: signals within one digital step, annotations, segments and start time exact", () => {
    const dir = tmp();
    let n = 0;
    fc.assert(
      fc.property(recordingArb, ({ rec, format }) => {
        const p = join(dir, `r${n++}.${format}`);
        const w: NeurocodeWarning[] = [];
        writeEdf(p, rec, { onWarning: quiet(w) });
        expect(w.filter((x) => x.code !== "edf.precision-loss")).toEqual([]);
        const back = readEdf(p, { onWarning: quiet() });
        expect(back.source.format).toBe(format);
        expect(back.channels.map((c) => [c.name, c.kind, c.unit])).toEqual(rec.channels.map((c) => [c.name, c.kind, "V"]));
        expect(back.sfreq).toBe(rec.sfreq);
        expect(back.data.shape).toEqual(rec.data.shape);
        const steps = stepOf(p);
        rec.channels.forEach((_, i) => {
          const a = channelData(rec, i);
          const b = channelData(back, i);
          expect(maxExcess(a, b, steps[i]!)).toBeLessThanOrEqual(0);
        });
        expect(back.annotations).toEqual(rec.annotations);
        expect(back.segments).toEqual(rec.segments);
        expect(back.startTime).toEqual(rec.startTime);
      }),
      { numRuns: 150, seed: 20260101 },
    );
  });

  it("real files survive read → write → read (test_generator.edf: values within a step, EDF+ header fields kept)", () => {
    const src = readEdf(sharedData("external/pyedflib/test_generator.edf"), { onWarning: quiet() });
    const p = join(tmp(), "gen.edf");
    writeRecording(p, src, { onWarning: quiet() });
    const back = readEdf(p, { onWarning: quiet() });
    const steps = stepOf(p);
    src.channels.forEach((c, i) => {
      const a = channelData(src, i);
      const b = channelData(back, i);
      expect(maxExcess(a, b, steps[i]!)).toBeLessThanOrEqual(0);
      expect(back.channels[i]).toEqual(c);
    });
    expect(back.annotations).toEqual(src.annotations);
    expect(back.startTime).toEqual(src.startTime);
    const h = back.source.header as EdfHeader;
    expect(h.patient).toEqual((src.source.header as EdfHeader).patient);
    expect(h.recording).toEqual((src.source.header as EdfHeader).recording);
    expect(h.signals[0]!.prefiltering).toBe("pre1");
  });

  it("BDF with BioSemi Status keeps the trigger codes exactly", () => {
    const src = readEdf(sharedData("external/mne-python/test.bdf"), { onWarning: quiet() });
    const p = join(tmp(), "t.bdf");
    writeEdf(p, src, { onWarning: quiet() });
    const back = readEdf(p, { onWarning: quiet() });
    const s = channelIndex(src, "Status");
    expect(Array.from(channelData(back, s))).toEqual(Array.from(channelData(src, s)));
    expect(back.channels[s]).toEqual({ name: "Status", kind: "stim", unit: "", origUnit: "Boolean" });
    // EEG: BDF to BDF within one 24-bit step.
    const steps = stepOf(p);
    const a = channelData(src, 0);
    const b = channelData(back, 0);
    expect(maxExcess(a, b, steps[0]!)).toBeLessThanOrEqual(0);
  });

  it("annotation-only recordings are written with record duration 0 (the hypnogram round-trips)", () => {
    const src = readEdf(sharedData("external/edfio/SC4001EC-Hypnogram.edf"), { onWarning: quiet() });
    const p = join(tmp(), "hyp.edf");
    writeEdf(p, src, { onWarning: quiet() });
    const back = readEdf(p, { onWarning: quiet() });
    expect(back.annotations).toEqual(src.annotations);
    expect(back.startTime).toEqual(src.startTime);
    expect((back.source.header as EdfHeader).recordDuration).toBe(0);
  });

  it("start dates outside 1985–2084 live in the EDF+ recording field; an unknown start is written anonymised", () => {
    const d = tmp();
    const make = (startTime: Recording["startTime"]): Recording =>
      createRecording({ data: [new Float32Array(4)], sfreq: 4, channels: [{ name: "Cz", kind: "eeg", unit: "V", origUnit: "uV" }], startTime });
    const cases: [Recording["startTime"], string, string, string | null][] = [
      [{ unixSeconds: Date.UTC(2090, 0, 5, 1, 2, 3) / 1000, fraction: 0.125 }, "05.01.yy", "Startdate 05-JAN-2090 X X X", "2090-01-05T01:02:03.125Z"],
      [{ unixSeconds: Date.UTC(1980, 6, 1) / 1000, fraction: 0 }, "01.07.80", "Startdate 01-JUL-1980 X X X", "1980-07-01T00:00:00Z"],
      [null, "01.01.85", "Startdate X X X X", null],
    ];
    for (const [start, legacy, recording, iso] of cases) {
      const p = join(d, "s.edf");
      const w: NeurocodeWarning[] = [];
      writeEdf(p, make(start), { onWarning: quiet(w) });
      const back = readEdf(p, { onWarning: quiet() });
      const h = back.source.header as EdfHeader;
      expect([h.startDateField, h.recordingId]).toEqual([legacy, recording]);
      expect(back.startTime ? toIso(back.startTime) : null).toBe(iso);
      expect(w.map((x) => x.code)).toEqual(legacy === "01.07.80" ? ["edf.year-before-1985"] : []);
    }
  });

  it("lengths that are not whole records are padded with (the digital value nearest) zero, with a warning", () => {
    const rec = createRecording({ data: [Float32Array.from({ length: 257 }, (_, k) => (k % 2 ? 1e-5 : -1e-5))], sfreq: 256, channels: [{ name: "Cz", kind: "eeg", unit: "V", origUnit: "uV" }] });
    const w: NeurocodeWarning[] = [];
    const p = join(tmp(), "pad.edf");
    writeEdf(p, rec, { onWarning: quiet(w) });
    expect(w.map((x) => x.code)).toEqual(["edf.padded"]);
    const back = readEdf(p, { onWarning: quiet() });
    expect(back.data.shape).toEqual([1, 512]);
    expect(channelData(back, 0)[256]).toBeCloseTo(-1e-5, 9);
    const step = stepOf(p)[0]!;
    for (const v of channelData(back, 0).subarray(257)) expect(Math.abs(v)).toBeLessThanOrEqual(step / 2);
  });

  it("a rate no short record duration gives exactly (Neuromag's 600.614990234375 Hz) is written approximately, with a warning", () => {
    const sfreq = 600.614990234375;
    const rec = createRecording({ data: [Float32Array.from({ length: 1201 }, (_, k) => 1e-5 * Math.sin(k / 10))], sfreq, channels: [{ name: "EEG 001", kind: "eeg", unit: "V", origUnit: "uV" }] });
    const w: NeurocodeWarning[] = [];
    const p = join(tmp(), "fif-rate.edf");
    writeEdf(p, rec, { onWarning: quiet(w) });
    expect(w.map((x) => x.code)).toEqual(["edf.rate-approximate", "edf.padded"]);
    const back = readEdf(p, { onWarning: quiet() });
    expect(back.sfreq).toBeCloseTo(sfreq, 3);
    expect((back.source.header as EdfHeader).recordDurationText).toBe("1.000641");
  });

  it("a cropped (zero-copy view) EDF+D recording writes and reads back as the crop", () => {
    const src = WRITTEN_FIXTURES[2]!.make();
    const cut = crop(src, 1, 6.5); // 1 s of the first segment, the gap, 1 s of the second
    expect(cut.segments).toEqual([
      { startSample: 0, nSamples: 128, onset: 0 },
      { startSample: 128, nSamples: 128, onset: 4.5 },
    ]);
    const p = join(tmp(), "crop.edf");
    writeEdf(p, cut, { onWarning: quiet() });
    const back = readEdf(p, { onWarning: quiet() });
    expect(back.segments).toEqual(cut.segments);
    expect(back.annotations).toEqual(cut.annotations);
    expect(back.startTime).toEqual(cut.startTime);
    const steps = stepOf(p);
    cut.channels.forEach((_, i) => expect(maxExcess(channelData(cut, i), channelData(back, i), steps[i]!)).toBeLessThanOrEqual(0));
  });

  it("refuses what EDF cannot hold: NaN samples, control bytes in annotations; leaves no file behind", () => {
    const d = tmp();
    const bad = createRecording({ data: ndarray(Float32Array.from([0, NaN]), [1, 2]), sfreq: 2, channels: [{ name: "Cz", kind: "eeg", unit: "V", origUnit: "uV" }] });
    expect(() => writeEdf(join(d, "nan.edf"), bad)).toThrow(ValueError);
    const ctl = createRecording({ data: [new Float32Array(2)], sfreq: 2, channels: [{ name: "Cz", kind: "eeg", unit: "V", origUnit: "uV" }], annotations: [{ onset: 0, duration: null, description: "a\x14b" }] });
    expect(() => writeEdf(join(d, "ctl.edf"), ctl)).toThrow(/control byte/);
    expect(readdirSync(d)).toEqual([]);
  });
});
