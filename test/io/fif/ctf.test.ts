import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readFif, type FifHeader } from "../../../src/io/fif/read.js";
import { compensationGrade } from "../../../src/sensors/coil-types.js";
import { golden } from "../../helpers/shared.js";

/** Made by test/reference/fif_ctf_comp.py: CTF axial gradiometers (grade 3), reference magnetometers, one compensation matrix. */
describe("CTF channels and compensation (MNE-written file)", () => {
  const g = JSON.parse(readFileSync(golden("fif/ctf_comp_raw.json"), "utf8"));
  const rec = readFif(golden("fif/ctf_comp_raw.fif"));
  const info = (rec.source.header as FifHeader).info;

  it("keeps the compensation grade in the coil type and masks it for sensors", () => {
    expect(info.channels.map((c) => c.coilType)).toEqual(g.coil_types);
    expect(compensationGrade(info.channels[0]!.coilType)).toBe(g.compensation_grade);
    expect(rec.channels[0]!.sensor!.coilType).toBe(5001);
  });

  it("classifies by coil type: CTF axial gradiometers are meg-grad (MNE says 'mag' from the unit T), references meg-ref", () => {
    expect(g.channel_types.slice(0, 6)).toEqual(["mag", "mag", "mag", "mag", "ref_meg", "ref_meg"]);
    expect(rec.channels.slice(0, 7).map((c) => c.kind)).toEqual(["meg-grad", "meg-grad", "meg-grad", "meg-grad", "meg-ref", "meg-ref", "eeg"]);
    expect(rec.channels[4]!.sensor).toBeUndefined();
  });

  it("axial gradiometer sensors: loc[0:3] and loc[9:12] through dev_head_t", () => {
    const T = g.dev_head_t as number[][];
    for (let k = 0; k < 4; k++) {
      const loc = g.locs[rec.channels[k]!.name] as number[];
      const s = rec.channels[k]!.sensor!;
      expect(s.type).toBe("grad");
      for (let i = 0; i < 3; i++) {
        const p = T[i]![0]! * loc[0]! + T[i]![1]! * loc[1]! + T[i]![2]! * loc[2]! + T[i]![3]!;
        const o = T[i]![0]! * loc[9]! + T[i]![1]! * loc[10]! + T[i]![2]! * loc[11]!;
        expect(s.position[i]).toBeCloseTo(p, 6);
        expect(s.orientation[i]).toBeCloseTo(o, 6);
      }
    }
  });

  it("reads the compensation matrix as MNE does", () => {
    expect(info.ctfCompensations).toHaveLength(1);
    const c = info.ctfCompensations[0]!;
    expect([c.kind, c.calibrated, c.rowNames, c.colNames]).toEqual([g.comp.kind, g.comp.calibrated, g.comp.row_names, g.comp.col_names]);
    c.data.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(g.comp.data[i][j], 6)));
  });
});
