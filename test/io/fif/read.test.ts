import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fifChannelSensor, readFif, type FifHeader } from "../../../src/io/fif/read.js";
import { readNpy } from "../../../src/io/npy.js";
import { channelData } from "../../../src/recording/recording.js";
import type { Recording } from "../../../src/recording/types.js";
import { golden, sharedData } from "../../helpers/shared.js";

interface GoldenChannel {
  name: string; kind: number; coil_type: number; scanno: number; logno: number; range: number; cal: number;
  unit: number; unit_mul: number; coord_frame: number; loc: number[];
}
interface GoldenInfo {
  nchan: number; sfreq: number; chs: GoldenChannel[]; bads: string[]; dev_head_t: number[][] | null;
  meas_date: [number, number] | null; line_freq: number | null; highpass: number; lowpass: number;
  projs: { desc: string; kind: number; active: boolean; col_names: string[]; data: number[][] }[];
  dig: { kind: number; ident: number; r: number[]; coord_frame: number }[];
}
interface GoldenRaw {
  info: GoldenInfo; first_samp: number; n_times: number; channel_types: string[]; sample_idx: number[]; ptp: number[];
  annotations: { onset: number[]; duration: number[]; description: string[]; ch_names: string[][] };
  sensors: Record<string, { position: number[]; orientation: number[] }>;
}

const MNE_TYPE: Record<string, string> = { grad: "meg-grad", mag: "meg-mag", eeg: "eeg", stim: "stim", eog: "eog" };

/** Checks everything the golden holds (see test/reference/fif_goldens.py) against a Recording read by neurocode. */
export function expectMatchesGolden(rec: Recording, g: GoldenRaw, samples: Float64Array): void {
  const info = (rec.source.header as FifHeader).info;
  expect(rec.channels.map((c) => c.name)).toEqual(g.info.chs.map((c) => c.name));
  expect(rec.channels.map((c) => c.kind)).toEqual(g.channel_types.map((t) => MNE_TYPE[t]));
  expect(rec.sfreq).toBe(g.info.sfreq);
  expect(rec.firstSample).toBe(g.first_samp);
  expect(rec.data.shape).toEqual([g.info.nchan, g.n_times]);
  expect(rec.bads).toEqual(g.info.bads);
  g.info.chs.forEach((gc, i) => {
    const c = info.channels[i]!;
    expect([c.kind, c.coilType, c.scanNo, c.logNo, c.unit, c.unitMul, c.coordFrame]).toEqual([gc.kind, gc.coil_type, gc.scanno, gc.logno, gc.unit, gc.unit_mul, gc.coord_frame]);
    expect(c.range).toBe(gc.range);
    expect(c.cal).toBe(gc.cal);
    c.loc.forEach((v, k) => expect(v).toBe(gc.loc[k]));
  });
  if (g.info.dev_head_t === null) expect(info.devHeadT).toBeNull();
  else {
    const t = g.info.dev_head_t;
    expect(info.devHeadT!.rot).toEqual([t[0]![0], t[0]![1], t[0]![2], t[1]![0], t[1]![1], t[1]![2], t[2]![0], t[2]![1], t[2]![2]]);
    expect(info.devHeadT!.move).toEqual([t[0]![3], t[1]![3], t[2]![3]]);
  }
  expect(info.measDate).toEqual(g.info.meas_date);
  expect(info.dig.map((d) => ({ kind: d.kind, ident: d.ident, r: d.r, coord_frame: info.digCoordFrame }))).toEqual(g.info.dig);
  expect(info.lineFreq).toBe(g.info.line_freq);
  expect(info.highpass ?? 0).toBe(g.info.highpass);
  expect(info.lowpass ?? g.info.sfreq / 2).toBe(g.info.lowpass);
  expect(rec.projectors!.map((p) => [p.description, p.kind, p.active, p.channelNames])).toEqual(g.info.projs.map((p) => [p.desc, p.kind, p.active, p.col_names]));
  rec.projectors!.forEach((p, i) => p.vectors.forEach((row, r) => row.forEach((v, c) => expect(v).toBe(g.info.projs[i]!.data[r]![c]))));
  // Annotations: MNE's onsets are relative to the first sample here (first_samp 0, orig_time = meas_date).
  const ann = rec.annotations;
  expect(ann.map((a) => a.description)).toEqual(g.annotations.description);
  ann.forEach((a, i) => {
    expect(a.onset).toBeCloseTo(g.annotations.onset[i]! - g.first_samp / g.info.sfreq, 9);
    expect(a.duration).toBeCloseTo(g.annotations.duration[i]!, 9);
  });
  // Samples: max error ≤ 1e-6 of each channel's peak-to-peak range.
  const k = g.sample_idx.length;
  for (let c = 0; c < g.info.nchan; c++) {
    const row = channelData(rec, c);
    const tol = Math.max(g.ptp[c]!, 1e-30) * 1e-6;
    let worst = 0;
    g.sample_idx.forEach((s, j) => (worst = Math.max(worst, Math.abs(row[s]! - samples[c * k + j]!))));
    expect(worst, `channel ${rec.channels[c]!.name}`).toBeLessThanOrEqual(tol);
  }
  // Sensors: BrainOmni's loc choice, moved to the head frame by dev_head_t (positions ≤ 1 µm, orientations ≤ 1e-6).
  for (const [name, s] of Object.entries(g.sensors)) {
    const ch = rec.channels.find((c) => c.name === name)!;
    ch.sensor!.position.forEach((v, i) => expect(Math.abs(v - s.position[i]!)).toBeLessThan(1e-6));
    ch.sensor!.orientation.forEach((v, i) => expect(Math.abs(v - s.orientation[i]!)).toBeLessThan(1e-6));
  }
}

function load(name: string): { g: GoldenRaw; samples: Float64Array } {
  const g = JSON.parse(readFileSync(golden(`fif/${name}.json`), "utf8")) as GoldenRaw;
  return { g, samples: readNpy(golden(`fif/${name}_samples.npy`)).data as Float64Array };
}

describe("readFif against MNE 1.3", () => {
  it("reads test_bin_raw.fif (MNE-C, directory, DAU_PACK16 buffers)", () => {
    const { g, samples } = load("test_bin_raw");
    const rec = readFif(sharedData("external/mne-python/test_bin_raw.fif"), { onWarning: () => {} });
    expectMatchesGolden(rec, g, samples);
    expect(rec.source.warnings).toEqual([]);
    expect(rec.startTime).toEqual({ unixSeconds: 1384408928, fraction: expect.closeTo(0.815463, 9) });
  });

  it("reads neuromag_raw.fif (MNE-written, no directory, 306 MEG + 60 EEG, annotations, bads, projectors)", () => {
    const { g, samples } = load("neuromag_raw");
    const rec = readFif(sharedData("generated/neuromag_raw.fif"));
    expectMatchesGolden(rec, g, samples);
    expect(rec.channels.filter((c) => c.kind === "meg-grad")).toHaveLength(204);
    expect(rec.channels.filter((c) => c.kind === "meg-mag")).toHaveLength(102);
    const grad = rec.channels[0]!.sensor!;
    expect(grad.type).toBe("grad");
    expect(grad.coilType).toBe(3012);
    expect(Math.hypot(...grad.orientation)).toBeCloseTo(1, 5);
    expect(rec.channels.find((c) => c.kind === "eeg")!.sensor!.orientation).toEqual([0, 0, 0]);
  });

  it("fifChannelSensor with no transform keeps the device frame (BrainOmni's official loc use)", () => {
    const { g } = load("neuromag_raw");
    const info = (readFif(sharedData("generated/neuromag_raw.fif")).source.header as FifHeader).info;
    const grad = fifChannelSensor(info.channels[0]!, null)!;
    const mag = fifChannelSensor(info.channels[2]!, null)!;
    expect(grad.position).toEqual(g.info.chs[0]!.loc.slice(0, 3));
    expect(grad.orientation).toEqual(g.info.chs[0]!.loc.slice(3, 6));
    expect(mag.orientation).toEqual(g.info.chs[2]!.loc.slice(9, 12));
    expect(mag.type).toBe("mag");
  });

  it("reads only the channels asked for, in the order asked", () => {
    const all = readFif(sharedData("generated/neuromag_raw.fif"));
    const some = readFif(sharedData("generated/neuromag_raw.fif"), { channels: ["EEG 002", "MEG 0111"] });
    expect(some.channels.map((c) => c.name)).toEqual(["EEG 002", "MEG 0111"]);
    expect(channelData(some, 0)).toEqual(channelData(all, all.channels.findIndex((c) => c.name === "EEG 002")));
    expect(channelData(some, 1)).toEqual(channelData(all, 2));
  });
});

describe("data buffer types (files saved by MNE with fmt=short/int/single/double)", () => {
  for (const fmt of ["short", "int", "single", "double"]) {
    it(`${fmt}: samples equal MNE's get_data within 1e-6 of each channel's range, first_samp 100`, () => {
      const rec = readFif(golden(`fif/fmt_${fmt}_raw.fif`));
      const want = readNpy(golden(`fif/fmt_${fmt}.npy`));
      expect(rec.firstSample).toBe(100);
      expect(rec.data.shape).toEqual(want.shape);
      const [nc, ns] = want.shape as [number, number];
      for (let c = 0; c < nc; c++) {
        const row = channelData(rec, c);
        const ref = (want.data as Float64Array).subarray(c * ns, (c + 1) * ns);
        let lo = Infinity, hi = -Infinity, worst = 0;
        ref.forEach((v, t) => { lo = Math.min(lo, v); hi = Math.max(hi, v); worst = Math.max(worst, Math.abs(v - row[t]!)); });
        expect(worst).toBeLessThanOrEqual(Math.max(hi - lo, 1e-30) * 1e-6);
      }
    });
  }
});

