import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readFif, type FifHeader } from "../../../src/io/fif/read.js";
import { FIFF } from "../../../src/io/fif/constants.js";
import { closeFifRaw, openFifRaw, readFifSamples, splitNameByNumber } from "../../../src/io/fif/raw.js";
import { memorySource } from "../../../src/io/fif/source.js";
import { readDirectory } from "../../../src/io/fif/tree.js";
import { writeFif } from "../../../src/io/fif/writer.js";
import { readRecording, writeRecording } from "../../../src/io/open.js";
import { channelData, cropSamples, pick } from "../../../src/recording/recording.js";
import type { Recording } from "../../../src/recording/types.js";
import { sharedData } from "../../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "neurocode-fif-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = { onWarning: () => {} };

/** Largest |a − b| over a channel, relative to the channel's peak-to-peak range. */
function relErr(a: Recording, b: Recording, i: number, j = i): number {
  const x = channelData(a, i);
  const y = channelData(b, j);
  let lo = Infinity;
  let hi = -Infinity;
  let worst = 0;
  for (let t = 0; t < x.length; t++) {
    lo = Math.min(lo, x[t]!);
    hi = Math.max(hi, x[t]!);
    worst = Math.max(worst, Math.abs(x[t]! - y[t]!));
  }
  return hi > lo ? worst / (hi - lo) : worst;
}

function expectSameFif(a: Recording, b: Recording): void {
  const ia = (a.source.header as FifHeader).info;
  const ib = (b.source.header as FifHeader).info;
  expect(b.channels).toEqual(a.channels);
  expect(b.bads).toEqual(a.bads);
  expect(b.sfreq).toBe(a.sfreq);
  expect(b.firstSample).toBe(a.firstSample);
  expect(b.startTime).toEqual(a.startTime);
  expect(ib.channels.map((c) => ({ ...c, range: 1, cal: c.cal * c.range, scanNo: 0 }))).toEqual(ia.channels.map((c) => ({ ...c, range: 1, cal: Math.fround(c.cal * c.range), scanNo: 0 })));
  expect(ib.devHeadT).toEqual(ia.devHeadT);
  expect(ib.measDate).toEqual(ia.measDate);
  expect([ib.dig, ib.digCoordFrame]).toEqual([ia.dig, ia.digCoordFrame]);
  expect([ib.lowpass, ib.highpass, ib.lineFreq]).toEqual([ia.lowpass, ia.highpass, ia.lineFreq]);
  expect(b.projectors).toEqual(a.projectors);
  expect(b.annotations.map((x) => x.description)).toEqual(a.annotations.map((x) => x.description));
  b.annotations.forEach((x, i) => {
    expect(x.onset).toBeCloseTo(a.annotations[i]!.onset, 9);
    expect(x.duration).toBeCloseTo(a.annotations[i]!.duration!, 9);
  });
  for (let i = 0; i < a.channels.length; i++) expect(relErr(a, b, i)).toBeLessThanOrEqual(1e-6);
}

describe("writeFif round trips (FIF → FIF)", () => {
  it("neuromag_raw.fif: info, loc, dev_head_t, projectors, bads, annotations, data to float32 precision", () => {
    const a = readFif(sharedData("generated/neuromag_raw.fif"));
    const out = join(dir, "neuromag_raw.fif");
    writeRecording(out, a);
    expectSameFif(a, readFif(out));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("a cropped, picked recording keeps first_samp, start time and shifted annotations; projectors on dropped channels are left out", () => {
    const full = readFif(sharedData("generated/neuromag_raw.fif"));
    const a = pick(cropSamples(full, 700, 2500), "eeg");
    const out = join(dir, "cropped_raw.fif");
    const warnings: string[] = [];
    writeFif(out, a, { onWarning: (w) => warnings.push(w.code) });
    const b = readFif(out);
    expect(b.firstSample).toBe(700);
    expect(b.startTime).toEqual(a.startTime);
    expect(b.channels.map((c) => c.name)).toEqual(a.channels.map((c) => c.name));
    expect(b.annotations.map((x) => [x.description, x.onset])).toEqual(a.annotations.map((x) => [x.description, expect.closeTo(x.onset, 9)]));
    expect(b.projectors!.map((p) => p.description)).toEqual(["Average EEG reference"]);
    expect(warnings).toEqual(["fif.projector-dropped", "fif.projector-dropped", "fif.projector-dropped"]);
    for (let i = 0; i < a.channels.length; i++) expect(relErr(a, b, i)).toBeLessThanOrEqual(1e-6);
  });

  it("splits into MNE-named parts linked by FIFFB_REF, reads them back as one, and reads sample ranges lazily", () => {
    const a = readFif(sharedData("generated/neuromag_raw.fif"));
    const out = join(dir, "split_raw.fif");
    writeFif(out, a, { splitSize: 2_000_000 });
    expect(existsSync(join(dir, "split_raw-1.fif"))).toBe(true);
    const b = readFif(out);
    expect((b.source.header as FifHeader).paths.length).toBeGreaterThan(1);
    expectSameFif(a, b);
    // Lazy reads of sample ranges that straddle buffers and parts equal the same slice of the whole read.
    const raw = openFifRaw(out);
    try {
      const picks = [0, 200, 375];
      for (const [lo, hi] of [[0, 1], [590, 1210], [1100, 3003], [3002, 3003]] as const) {
        const rows = picks.map(() => new Float32Array(hi - lo));
        readFifSamples(raw, lo, hi, rows, picks);
        picks.forEach((c, k) => expect(rows[k]).toEqual(channelData(b, c).subarray(lo, hi)));
      }
      expect(() => readFifSamples(raw, 10, 3004, [new Float32Array(3000)], [0])).toThrow(/not within/);
    } finally {
      closeFifRaw(raw);
    }
  });

  it("finds the next part by FIFF_REF_FILE_NUM when the name tag is missing (MNE's naming rule)", () => {
    expect(splitNameByNumber("/d/x_raw.fif", 1)).toBe("/d/x_raw-1.fif");
    expect(splitNameByNumber("/d/x_raw-1.fif", 2)).toBe("/d/x_raw-2.fif");
    expect(splitNameByNumber("/d/x_raw.fif.gz", 1)).toBe("/d/x_raw-1.fif.gz");
    const a = readFif(sharedData("generated/neuromag_raw.fif"));
    const out = join(dir, "bynum_raw.fif");
    writeFif(out, a, { splitSize: 3_000_000 });
    // Hide every FIFF_REF_FILE_NAME tag of the first part by giving it an unknown kind.
    const bytes = new Uint8Array(readFileSync(out));
    const refs = readDirectory(memorySource(bytes)).filter((e) => e.kind === FIFF.REF_FILE_NAME);
    expect(refs).toHaveLength(1);
    new DataView(bytes.buffer).setInt32(refs[0]!.pos, 99999);
    writeFileSync(out, bytes);
    const b = readFif(out);
    expect((b.source.header as FifHeader).paths).toEqual([out, join(dir, "bynum_raw-1.fif")]);
    expect(b.data.shape).toEqual(a.data.shape);
  });

  it("long channel names (> 15 characters) survive through FIFFB_CH_INFO blocks", () => {
    const base = readFif(sharedData("external/mne-python/test_bin_raw.fif"), quiet);
    const a: Recording = { ...base, channels: base.channels.map((c, i) => ({ ...c, name: `${c.name} long-name-${i}` })), source: { ...base.source, format: "memory" } };
    const out = join(dir, "long_raw.fif");
    writeFif(out, a);
    const b = readFif(out);
    expect(b.channels.map((c) => c.name)).toEqual(a.channels.map((c) => c.name));
    expect(relErr(a, b, 3)).toBeLessThanOrEqual(1e-6);
  });
});

describe("writeFif without a start time", () => {
  it("writes MNE's DATE_NONE so the file reads back with no measurement date (not the time of writing)", () => {
    const base = readFif(sharedData("external/mne-python/test_bin_raw.fif"), quiet);
    const out = join(dir, "nodate_raw.fif");
    writeFif(out, { ...base, startTime: null, annotations: [{ onset: 0.5, duration: 1, description: "x" }] });
    const b = readFif(out);
    expect(b.startTime).toBeNull();
    expect((b.source.header as FifHeader).info.measDate).toBeNull();
    expect(b.annotations).toEqual([{ onset: 0.5, duration: 1, description: "x" }]);
  });
});

describe("FIF → EDF (EEG only) → FIF", () => {
  it("test_bin_raw EEG: keeps names, rate, start time, annotations and data to EDF's 16-bit resolution", () => {
    // 1000 Hz (EDF cannot hold 600.615 Hz exactly); annotations added so there is something to keep.
    const raw = pick(readFif(sharedData("external/mne-python/test_bin_raw.fif"), quiet), "eeg");
    const a: Recording = { ...raw, annotations: [{ onset: 1.25, duration: 0.5, description: "stim" }, { onset: 4, duration: 0, description: "blink" }] };
    const edf = join(dir, "eeg.edf");
    writeRecording(edf, a, quiet);
    const e = readRecording(edf, quiet);
    const fif = join(dir, "eeg_raw.fif");
    writeRecording(fif, e);
    const b = readFif(fif);
    expect(b.channels.map((c) => c.name)).toEqual(a.channels.map((c) => c.name));
    expect(b.channels.every((c) => c.kind === "eeg" && c.unit === "V")).toBe(true);
    expect(b.sfreq).toBe(a.sfreq);
    expect(b.startTime!.unixSeconds).toBe(a.startTime!.unixSeconds);
    for (const x of a.annotations) expect(b.annotations.some((y) => y.description === x.description && Math.abs(y.onset - x.onset) < 1e-3)).toBe(true);
    const n = Math.min(a.data.shape[1]!, b.data.shape[1]!);
    for (let i = 0; i < a.channels.length; i++) {
      const x = channelData(a, i).subarray(0, n);
      const y = channelData(b, i).subarray(0, n);
      let lo = Infinity, hi = -Infinity, worst = 0;
      x.forEach((v, t) => { lo = Math.min(lo, v); hi = Math.max(hi, v); worst = Math.max(worst, Math.abs(v - y[t]!)); });
      // 16-bit samples over the channel's range: half a step is (hi − lo) / 65535 / 2; the EDF
      // writer widens the physical range to fit 8-character decimals, so allow one whole step.
      expect(worst).toBeLessThanOrEqual((hi - lo) / 65535);
    }
  });
});
