import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, FormatError } from "../../../src/errors.js";
import { openEdf, readEdf } from "../../../src/io/edf/reader.js";
import { readRecording } from "../../../src/io/open.js";
import { channelData, channelIndex } from "../../../src/recording/recording.js";
import { toIso } from "../../../src/recording/time.js";
import type { Recording } from "../../../src/recording/types.js";
import type { NeurocodeWarning } from "../../../src/warnings.js";
import { golden, ROOT, sharedData } from "../../helpers/shared.js";

interface MneChannel {
  sum: number;
  min: number;
  max: number;
  values: number[];
}
interface MneFile {
  ch_names: string[];
  sfreq: number;
  n_times: number;
  types: string[];
  meas_date: string | null;
  annotations: [number, number, string][];
  native: string[];
  positions: number[];
  channels: Record<string, MneChannel>;
}
const MNE = JSON.parse(readFileSync(golden("edf/mne_read.json"), "utf8")) as { files: Record<string, MneFile>; hypnogram_annotations: [number, number, string][] };

const quiet = (list: NeurocodeWarning[] = []) => (w: NeurocodeWarning) => void list.push(w);
const pathOf = (rel: string): string => (rel.startsWith("examples/") ? join(ROOT, rel) : sharedData(`external/${rel}`));

/** Rates MNE 1.3 resamples to: the files with several rates are read here at the rate of MNE's native channels. */
const RATE: Record<string, number> = { "edfio/short_psg.edf": 100, "mne-python/test_uneven_samp.edf": 100 };

/**
 * Compares neurocode's float32 data with MNE's float64 values. Tolerance:
 * 1e-6 of the channel's range (max − min of MNE's values), plus half a
 * float32 ulp of the value itself — float32 cannot hold more than ~7
 * significant digits, which matters for channels whose DC offset dwarfs
 * their range (test_edf_stim_channel.edf: 175 940 µV with a 25 µV range).
 * The float64 decoding is checked separately without that allowance.
 */
function expectClose(ours: number, theirs: number, range: number, what: string): void {
  const tol = 1e-6 * range + Math.abs(theirs) * 2 ** -24 + 1e-300;
  if (!(Math.abs(ours - theirs) <= tol)) throw new Error(`${what}: neurocode ${ours} vs MNE ${theirs} (tolerance ${tol})`);
}

describe.each(Object.keys(MNE.files))("%s against MNE 1.3", (rel) => {
  const g = MNE.files[rel]!;
  const warnings: NeurocodeWarning[] = [];
  const rec: Recording = readEdf(pathOf(rel), { onWarning: quiet(warnings), rate: RATE[rel] });

  it("has MNE's channel names, rate and length", () => {
    expect(rec.sfreq).toBe(g.sfreq);
    expect(rec.data.shape[1]).toBe(g.n_times);
    expect(rec.channels.map((c) => c.name)).toEqual(g.native);
    if (!RATE[rel]) expect(rec.channels.map((c) => c.name)).toEqual(g.ch_names);
    // MNE finds stim channels by the same names (Status/Trigger).
    const stim = g.ch_names.filter((_, i) => g.types[i] === "stim");
    expect(rec.channels.filter((c) => c.kind === "stim").map((c) => c.name)).toEqual(stim.filter((n) => g.native.includes(n)));
  });

  it("has MNE's sample values, sums, minima and maxima", () => {
    for (const name of g.native) {
      const m = g.channels[name]!;
      const row = channelData(rec, channelIndex(rec, name));
      const range = m.max - m.min;
      g.positions.forEach((p, k) => expectClose(row[p]!, m.values[k]!, range, `${name}[${p}]`));
      let sum = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of row) {
        sum += v;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      expectClose(lo, m.min, range, `${name} min`);
      expectClose(hi, m.max, range, `${name} max`);
      const sumTol = row.length * (1e-6 * range + Math.max(Math.abs(m.min), Math.abs(m.max)) * 2 ** -24) + 1e-300;
      expect(Math.abs(sum - m.sum)).toBeLessThanOrEqual(sumTol);
    }
  });

  it("decodes in float64 exactly like MNE (digital values × gain, no float32 rounding)", () => {
    const f = openEdf(pathOf(rel), { onWarning: quiet() });
    try {
      for (const name of g.native.filter((n) => rec.channels[channelIndex(rec, n)]!.kind !== "stim")) {
        const i = f.names.indexOf(name);
        const s = f.header.signals[i]!;
        const m = g.channels[name]!;
        const scale = f.unit(i).scale;
        const range = m.max - m.min;
        const digital = f.readDigital(i, 0, f.nSamples(i));
        for (const [k, p] of g.positions.entries()) {
          const d = digital[p]!;
          const v = (d + s.offset) * s.gain * scale;
          expect(Math.abs(v - m.values[k]!)).toBeLessThanOrEqual(1e-9 * range + 1e-12 * Math.abs(v));
        }
      }
    } finally {
      f.close();
    }
  });

  it("has MNE's start time (to the second: MNE 1.3 drops the sub-second part)", () => {
    expect(rec.startTime).not.toBeNull();
    expect(toIso({ unixSeconds: rec.startTime!.unixSeconds, fraction: 0 })).toBe(g.meas_date!.replace("+00:00", "Z"));
  });

  it("has MNE's annotations (MNE 1.3 gives absent durations as 0 and rounds onsets to 1e-6 s)", () => {
    expect(rec.annotations.length).toBe(g.annotations.length);
    rec.annotations.forEach((a, k) => {
      const [onset, duration, description] = g.annotations[k]!;
      expect(Math.abs(a.onset - onset)).toBeLessThanOrEqual(1e-6);
      expect(a.duration ?? 0).toBeCloseTo(duration, 9);
      expect(a.description).toBe(description);
    });
  });

  it("warns about nothing (these files are well-formed)", () => {
    expect(warnings.map((w) => w.code)).toEqual([]);
  });
});

describe("upstream assertions", () => {
  it("short_psg.edf: edfio's per-signal sums of all 7 signals (100 Hz and 1 Hz, read per signal)", () => {
    const f = openEdf(sharedData("external/edfio/short_psg.edf"));
    try {
      const sums = f.dataSignals.map((i) => f.signal(i).reduce((a, v) => a + v, 0) / f.unit(i).scale);
      const expected = [5786.725274725277, -10889.671062271369, 22995.836874236884, 109827, 1028.81, 11160.999999999998, 265812];
      // edfio asserts 7 significant digits (assert_approx_equal).
      sums.forEach((s, k) => expect(Math.abs(s - expected[k]!)).toBeLessThanOrEqual(Math.abs(expected[k]!) * 5e-7));
      expect(f.dataSignals.map((i) => f.sfreq(i))).toEqual([100, 100, 100, 1, 1, 1, 1]);
      const ref = JSON.parse(readFileSync(sharedData("external/edfio/short_psg_header_reference.json"), "utf8")) as Record<string, unknown>[];
      ref.forEach((r, k) => {
        const s = f.header.signals[k]!;
        expect([s.label, s.transducer, s.physicalDimension, s.physicalMin, s.physicalMax, s.digitalMin, s.digitalMax, s.prefiltering, s.samplesPerRecord, s.reserved]).toEqual([
          r.label, r.transducer_type, r.physical_dimension, r.physical_min, r.physical_max, r.digital_min, r.digital_max, r.prefiltering, r.samples_per_data_record, r.reserved,
        ]);
        expect(f.sfreq(k)).toBe(r.sampling_frequency);
      });
      expect(f.header.patientId).toBe("X F X Female_33yr");
      expect(f.header.recordingId).toBe("Startdate 24-APR-1989 X X X");
      expect([f.header.nRecords, f.header.recordDuration, f.header.signals.length, f.header.reserved]).toEqual([10, 30, 7, ""]);
      expect(f.timeline().annotations).toEqual([]);
    } finally {
      f.close();
    }
  });

  it("short_psg.edf: several rates need a choice; the error lists the rates present", () => {
    const p = sharedData("external/edfio/short_psg.edf");
    expect(() => readEdf(p, { onWarning: quiet() })).toThrow(ConfigError);
    expect(() => readEdf(p, { onWarning: quiet() })).toThrow(/100 Hz \(3 signals\), 1 Hz \(4 signals\)/);
    const slow = readEdf(p, { rate: 1, onWarning: quiet() });
    expect(slow.channels.map((c) => [c.name, c.kind, c.unit, c.origUnit])).toEqual([
      ["Resp oro-nasal", "resp", "", ""],
      ["EMG submental", "emg", "V", "uV"],
      ["Temp rectal", "temperature", "DegC", "DegC"],
      ["Event marker", "eeg", "", ""],
    ]);
    expect(slow.data.shape).toEqual([4, 300]);
    // Channels that share one rate need no rate option.
    expect(readEdf(p, { channels: ["Temp rectal", "EMG submental"], onWarning: quiet() }).channels.map((c) => c.name)).toEqual(["Temp rectal", "EMG submental"]);
    expect(() => readEdf(p, { rate: 50, onWarning: quiet() })).toThrow(/no signal at 50 Hz/);
    expect(() => readEdf(p, { channels: ["Cz"], onWarning: quiet() })).toThrow(ConfigError);
    expect(() => readEdf(p, { channels: ["Temp rectal", "Temp rectal"], onWarning: quiet() })).toThrow(/listed more than once/);
  });

  it("test_subsecond.edf: start 04:05:56.3945312 and edfio's onsets exactly (relative to the first sample)", () => {
    const rec = readEdf(sharedData("external/edfio/test_subsecond.edf"), { onWarning: quiet() });
    expect(toIso(rec.startTime!)).toBe("2020-01-24T04:05:56.3945312Z");
    expect(rec.annotations.map((a) => a.onset)).toEqual([1.9511719, 3.4921875, 290.5019531, 583.5722656]);
    expect(rec.annotations.map((a) => a.duration)).toEqual([null, null, null, null]);
    // Negative gain (pmin 8711 > pmax -8711) decodes by the same formula.
    const h = (rec.source.header as { signals: { physicalMin: number; gain: number }[] }).signals[0]!;
    expect(h.physicalMin).toBe(8711);
    expect(h.gain).toBeLessThan(0);
  });

  it("SC4001EC-Hypnogram.edf: annotation-only file (record duration 0) gives 154 annotations and no channels", () => {
    const rec = readEdf(sharedData("external/edfio/SC4001EC-Hypnogram.edf"), { onWarning: quiet() });
    expect(rec.channels).toEqual([]);
    expect(rec.data.shape).toEqual([0, 0]);
    expect(rec.annotations.length).toBe(154);
    expect(rec.annotations.slice(0, 4)).toEqual([
      { onset: 0, duration: 30630, description: "Sleep stage W" },
      { onset: 30630, duration: 120, description: "Sleep stage 1" },
      { onset: 30750, duration: 390, description: "Sleep stage 2" },
      { onset: 31140, duration: 30, description: "Sleep stage 3" },
    ]);
    expect(rec.annotations.map((a) => [a.onset, a.duration, a.description])).toEqual(MNE.hypnogram_annotations);
    expect(toIso(rec.startTime!)).toBe("1989-04-24T16:13:00Z");
  });

  it("test_generator.edf: pyEDFlib's header subfields, labels, 600 records, annotations at 0 and 600", () => {
    const f = openEdf(sharedData("external/pyedflib/test_generator.edf"));
    try {
      const h = f.header;
      expect(h.patient).toEqual({ code: "abcxyz99", sex: "M", birthdate: "30-JUN-1969", name: "Hans Muller", additional: "patient" });
      expect(h.recording).toEqual({ startdate: "04-APR-2011", admincode: "Dr. X", technician: "Mr. Spotty", equipment: "test generator", additional: "unit test file" });
      expect(h.nRecords).toBe(600);
      expect(f.dataSignals.map((i) => f.names[i])).toEqual(["squarewave", "ramp", "pulse", "noise", "sine 1 Hz", "sine 8 Hz", "sine 8.1777 Hz", "sine 8.5 Hz", "sine 15 Hz", "sine 17 Hz", "sine 50 Hz"]);
      expect(f.dataSignals.map((i) => [f.sfreq(i), f.nSamples(i)])).toEqual(Array(11).fill([200, 120000]));
      expect(h.signals[0]!.prefiltering).toBe("pre1");
      expect(h.signals[0]!.transducer).toBe("trans1");
      expect(toIso(f.startTime()!)).toBe("2011-04-04T12:57:02Z");
      expect(f.timeline().annotations).toEqual([
        { onset: 0, duration: null, description: "Recording starts" },
        { onset: 600, duration: null, description: "Recording ends" },
      ]);
      // squarewave first digital 3276 → (3276 + 0.5) · 2000/65535 µV.
      expect(f.readDigital(0, 0, 1)[0]).toBe(3276);
      expect(f.signal(0)[0]! * 1e6).toBeCloseTo(99.99237, 4);
    } finally {
      f.close();
    }
  });

  it("test.edf: edfio's annotations (absent durations kept apart from 0), MNE's events and Status values", () => {
    const rec = readEdf(sharedData("external/mne-python/test.edf"), { onWarning: quiet() });
    expect(rec.annotations).toEqual([
      { onset: 0, duration: null, description: "start" },
      { onset: 0.1344, duration: 0.256, description: "type A" },
      { onset: 0.3904, duration: 1, description: "type A" },
      { onset: 2, duration: null, description: "type B" },
      { onset: 2.5, duration: 2.5, description: "type A" },
    ]);
    // MNE: events_from_annotations (use_rounding=False) samples 68, 199, 1024, 1280 at 512 Hz.
    expect(rec.annotations.slice(1).map((a) => Math.floor(a.onset * rec.sfreq))).toEqual([68, 199, 1024, 1280]);
    expect(rec.channels.at(-1)).toEqual({ name: "Status", kind: "stim", unit: "", origUnit: "uV" });
    expect(channelData(rec, 138)[0]).toBe(4352);
    expect(rec.channels.filter((c) => c.kind === "stim").length).toBe(1);
    for (const n of ["I1", "I2", "I3", "I4"]) expect(channelIndex(rec, n)).toBeGreaterThan(0);
  });

  it("test.bdf: 73 channels at 2048 Hz, Fp1 digital 469155 → 14660.58 µV, Status masked to 17 bits", () => {
    const f = openEdf(sharedData("external/mne-python/test.bdf"));
    try {
      expect(f.header.format).toBe("bdf");
      expect(f.dataSignals.length).toBe(73);
      expect(Array.from(f.readDigital(0, 0, 3))).toEqual([469155, 468981, 468722]);
      expect(f.signal(0)[0]! * 1e6).toBeCloseTo(14660.58, 1);
      const status = f.names.indexOf("Status");
      expect(f.readDigital(status, 0, 1)[0]).toBe(-6815744);
      expect(f.signal(status)[0]).toBe(0);
    } finally {
      f.close();
    }
  });

  it("test_edf_stim_channel.edf: matches MNE's reference export test_edf_stim_channel.txt", () => {
    const rec = readEdf(sharedData("external/mne-python/test_edf_stim_channel.edf"), { onWarning: quiet() });
    const rows = readFileSync(sharedData("external/mne-python/test_edf_stim_channel.txt"), "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
    expect(rows.length).toBe(717);
    let worst = 0;
    rows.forEach((row, t) =>
      row.forEach((v, c) => {
        worst = Math.max(worst, Math.abs(channelData(rec, c)[t]! * 1e6 - v));
      }),
    );
    // The .txt holds ~7 significant digits of values up to 2.2e5 µV.
    expect(worst).toBeLessThanOrEqual(0.5);
  });

  it("openEdf reads the header alone; readRange windows match the whole read", () => {
    const p = sharedData("external/pyedflib/test_generator.edf");
    const whole = readEdf(p, { onWarning: quiet() });
    const f = openEdf(p);
    try {
      for (const [a, b] of [[0, 1], [199, 201], [12345, 54321], [119990, 120000], [5, 5]] as const) {
        const [r0, r5] = f.readRange([0, 5], a, b);
        expect(Array.from(r0!)).toEqual(Array.from(channelData(whole, 0).subarray(a, b)));
        expect(Array.from(r5!)).toEqual(Array.from(channelData(whole, 5).subarray(a, b)));
      }
      expect(() => f.readRange([0], 0, 120001)).toThrow(/not within/);
      expect(() => f.signal(11)).toThrow(/annotations/);
    } finally {
      f.close();
    }
    expect(() => f.signal(0)).toThrow(/closed/);
  });

  it("readRecording dispatches .edf and .bdf", () => {
    expect(readRecording(sharedData("external/mne-python/test.bdf"), { onWarning: quiet() }).source.format).toBe("bdf");
    expect(readRecording(sharedData("external/edfio/test_subsecond.edf"), { onWarning: quiet() }).source.format).toBe("edf");
  });
});

/** Copies a shared file into a temp folder, lets `edit` change the bytes, returns the new path. */
function patched(rel: string, edit: (b: Buffer) => Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), "nc-edf-"));
  const p = join(dir, rel.split("/").pop()!);
  writeFileSync(p, edit(Buffer.from(readFileSync(sharedData(`external/${rel}`)))));
  return p;
}

describe("real-world violations: repaired with a warning, or a FormatError", () => {
  const TEST_EDF = "mne-python/test.edf";
  const reference = readEdf(sharedData(`external/${TEST_EDF}`), { onWarning: quiet() });

  it("nRecords -1 and a file truncated to 40 %: records inferred from the size, partial record dropped (MNE test_edf_data_broken)", () => {
    const p = patched(TEST_EDF, (b) => {
      b.write("-1      ", 236, "latin1");
      return b.subarray(0, Math.floor(b.length * 0.4));
    });
    const w: NeurocodeWarning[] = [];
    const rec = readEdf(p, { onWarning: quiet(w) });
    expect(w.map((x) => x.code)).toEqual(["edf.nrecords-unknown", "edf.truncated-record"]);
    // 36096 header bytes + 2 whole records of 142 848 bytes fit in 40 % of 896 256.
    expect(rec.data.shape).toEqual([139, 1024]);
    expect(Array.from(channelData(rec, 0))).toEqual(Array.from(channelData(reference, 0).subarray(0, 1024)));
  });

  it("a wrong record count is repaired from the file size", () => {
    const p = patched(TEST_EDF, (b) => (b.write("9       ", 236, "latin1"), b));
    const w: NeurocodeWarning[] = [];
    expect(readEdf(p, { onWarning: quiet(w) }).data.shape).toEqual([139, 3072]);
    expect(w.map((x) => x.code)).toEqual(["edf.nrecords-mismatch"]);
  });

  it("NUL instead of spaces in the header-bytes field reads the same data (MNE test)", () => {
    const p = patched(TEST_EDF, (b) => (b.write("36096\0\0\0", 184, "latin1"), b));
    const w: NeurocodeWarning[] = [];
    const rec = readEdf(p, { onWarning: quiet(w) });
    expect(w).toEqual([]);
    expect(Array.from(channelData(rec, 5))).toEqual(Array.from(channelData(reference, 5)));
  });

  it("a decimal comma in a physical range is read as a point, with a warning", () => {
    const p = patched("edfio/test_subsecond.edf", (b) => {
      const off = 256 + 2 * (16 + 80 + 8); // physicalMin of signal 0
      b.write("8711,0  ", off, "latin1");
      return b;
    });
    const w: NeurocodeWarning[] = [];
    const rec = readEdf(p, { onWarning: quiet(w) });
    expect(w.map((x) => x.code)).toEqual(["edf.decimal-comma"]);
    expect(rec.data.shape[1]).toBe(89344);
  });

  it("duplicate labels are made unique like MNE (-0, -1 suffixes) with a warning", () => {
    const p = patched(TEST_EDF, (b) => {
      b.write("A1".padEnd(16), 256 + 2 * 16, "latin1"); // signal 2 (A3) becomes A1
      return b;
    });
    const w: NeurocodeWarning[] = [];
    const rec = readEdf(p, { onWarning: quiet(w) });
    expect(rec.channels.slice(0, 4).map((c) => c.name)).toEqual(["A1-0", "A2", "A1-1", "A4"]);
    expect(w.map((x) => x.code)).toEqual(["edf.duplicate-labels"]);
  });

  it("an empty physical range gives uncalibrated digital values with a warning (edfio)", () => {
    const p = patched("edfio/test_subsecond.edf", (b) => (b.write("-8711   ", 256 + 2 * (16 + 80 + 8), "latin1"), b));
    const w: NeurocodeWarning[] = [];
    const f = openEdf(p, { onWarning: quiet(w) });
    try {
      expect(w.map((x) => x.code)).toEqual(["edf.range-undefined"]);
      expect(f.signal(0)[3]! * 1e6).toBeCloseTo(f.readDigital(0, 3, 4)[0]!, 4);
    } finally {
      f.close();
    }
  });

  it("files that cannot be EDF are FormatErrors naming path, field and byte offset", () => {
    const txt = sharedData("external/mne-python/test_edf_stim_channel.txt");
    const e = (() => {
      try {
        readEdf(txt, { onWarning: quiet() });
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(FormatError);
    expect((e as FormatError).path).toBe(txt);
    expect((e as FormatError).field).toMatch(/^header\./);
    expect((e as FormatError).offset).toBeTypeOf("number");
    const bad = patched(TEST_EDF, (b) => (b.write("abc     ", 256 + 140 * (16 + 80 + 8 + 8 + 8 + 8 + 8 + 80), "latin1"), b));
    expect(() => readEdf(bad, { onWarning: quiet() })).toThrow(/signals\[0\]\.samplesPerRecord at byte 30496: not a number/);
    const huge = patched(TEST_EDF, (b) => (b.write("9999", 252, "latin1"), b));
    expect(() => readEdf(huge, { onWarning: quiet() })).toThrow(FormatError);
  });
});
