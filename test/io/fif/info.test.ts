import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FormatError } from "../../../src/errors.js";
import { readFifEvoked, type FifEvokedHeader } from "../../../src/io/fif/evoked.js";
import { applyProjectors, makeProjection, projectSample } from "../../../src/io/fif/proj.js";
import { readFif, readFifInfo } from "../../../src/io/fif/read.js";
import { channelData } from "../../../src/recording/recording.js";
import type { Projector } from "../../../src/recording/types.js";
import { golden, sharedData } from "../../helpers/shared.js";

describe("readFifInfo on test-ave.fif.gz (gzip, evoked, directory)", () => {
  const g = JSON.parse(readFileSync(golden("fif/test-ave_info.json"), "utf8")).info;
  const info = readFifInfo(sharedData("external/mne-python/test-ave.fif.gz"));

  it("matches MNE's read_info: channels, coil types, loc, dev_head_t, meas date, projectors", () => {
    expect(info.nchan).toBe(376);
    expect(info.sfreq).toBe(g.sfreq);
    expect(info.channels.map((c) => [c.name, c.kind, c.coilType, c.unit, c.cal, c.range])).toEqual(
      g.chs.map((c: { name: string; kind: number; coil_type: number; unit: number; cal: number; range: number }) => [c.name, c.kind, c.coil_type, c.unit, c.cal, c.range]),
    );
    info.channels.forEach((c, i) => expect(c.loc).toEqual(g.chs[i].loc));
    const t = g.dev_head_t as number[][];
    expect(info.devHeadT!.move).toEqual([t[0]![3], t[1]![3], t[2]![3]]);
    expect(info.measDate).toEqual(g.meas_date);
    expect(info.bads).toEqual(g.bads);
    expect(info.projectors.map((p) => [p.description, p.kind, p.active, p.vectors.length])).toEqual(
      g.projs.map((p: { desc: string; kind: number; active: boolean; data: number[][] }) => [p.desc, p.kind, p.active, p.data.length]),
    );
    expect(info.channels.filter((c) => c.coilType === 3012)).toHaveLength(204);
    expect(info.channels.filter((c) => c.coilType === 3024)).toHaveLength(102);
  });

  it("is not raw data: readFif says so with a FormatError", () => {
    let err: unknown;
    try {
      readFif(sharedData("external/mne-python/test-ave.fif.gz"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).message).toMatch(/test-ave\.fif\.gz: raw data: no raw data block/);
  });
});

describe("SSP projectors", () => {
  const rec = readFif(sharedData("generated/neuromag_raw.fif"));
  const names = rec.channels.map((c) => c.name);

  it("makeProjection equals MNE's _make_projector (P·x, bads excluded, all four projectors)", () => {
    const g = JSON.parse(readFileSync(golden("fif/neuromag_raw_projection.json"), "utf8")) as { nproj: number; x: number[]; Px: number[] };
    const proj = makeProjection(rec.projectors!, names, rec.bads, true);
    expect(proj.nComponents).toBe(g.nproj);
    const x = Float64Array.from(g.x);
    projectSample(proj, x);
    x.forEach((v, i) => expect(Math.abs(v - g.Px[i]!)).toBeLessThan(1e-9));
  });

  it("applyProjectors applies only inactive projectors and marks them active; the result is idempotent", () => {
    const inactive = { ...rec, projectors: rec.projectors!.map((p: Projector) => ({ ...p, active: false })) };
    const once = applyProjectors(inactive);
    expect(once.projectors!.every((p) => p.active)).toBe(true);
    const twice = applyProjectors({ ...once, projectors: once.projectors!.map((p) => ({ ...p, active: false })) });
    for (const c of [0, 2, 150, 320, 375]) {
      const b = channelData(once, c), d = channelData(twice, c);
      let scale = 0;
      b.forEach((v) => (scale = Math.max(scale, Math.abs(v))));
      b.forEach((v, t) => expect(Math.abs(d[t]! - v)).toBeLessThanOrEqual(scale * 1e-5));
    }
    // Projected data have no component along the removed directions (to float32 rounding).
    const proj = makeProjection(inactive.projectors, names, rec.bads);
    for (const t of [0, 1000, 3002]) {
      const x = Float64Array.from(names, (_, c) => channelData(once, c)[t]!);
      const norm = Math.hypot(...x.filter((_, c) => proj.u.some((u) => u[c] !== 0)));
      for (const u of proj.u) expect(Math.abs(u.reduce((s, w, c) => s + w * x[c]!, 0))).toBeLessThan(norm * 1e-6);
    }
    expect(channelData(applyProjectors(rec), 0)).toEqual(channelData(rec, 0));
  });
});

describe("readFifEvoked on test-ave.fif.gz (what MNE's test_evoked.py asserts)", () => {
  const sets = readFifEvoked(sharedData("external/mne-python/test-ave.fif.gz"));

  it("reads the four conditions with nave, first sample and 421 samples", () => {
    expect(sets.map((s) => (s.source.header as FifEvokedHeader).comment)).toEqual(["Left Auditory", "Right Auditory", "Left visual", "Right visual"]);
    expect(sets.map((s) => (s.source.header as FifEvokedHeader).nave)).toEqual([3, 6, 6, 6]);
    expect(sets.every((s) => s.firstSample === -120 && s.data.shape[1] === 421 && s.data.shape[0] === 376)).toBe(true);
  });

  it("with projectors applied (proj=True), the magnetometer peak of condition 0 is MEG 1421 at 7.17057e-13 T", () => {
    const ev = applyProjectors(sets[0]!);
    let best = { name: "", value: 0 };
    ev.channels.forEach((c, i) => {
      if (c.kind !== "meg-mag") return;
      for (const v of channelData(ev, i)) if (Math.abs(v) > Math.abs(best.value)) best = { name: c.name, value: v };
    });
    expect(best.name).toBe("MEG 1421");
    expect(Math.abs(Math.abs(best.value) - 7.17057e-13) / 7.17057e-13).toBeLessThan(1e-5);
  });
});
