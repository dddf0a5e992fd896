import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FormatError } from "../../src/errors.js";
import { builtinMontages, formatMontage, loadMontage, montageInHead, parseMontage, SENSORS_DIR } from "../../src/sensors/montage.js";
import { montageFromElc, montageFromSfp, montageFromThetaPhi } from "../../src/sensors/montage-sources.js";
import { golden, sharedData } from "../helpers/shared.js";

interface GoldenMontage {
  coord_frame: string; ch_names: string[]; positions: number[][]; head: number[][];
  nasion: number[] | null; lpa: number[] | null; rpa: number[] | null;
}
const G = JSON.parse(readFileSync(golden("sensors/montages.json"), "utf8")) as Record<string, GoldenMontage>;
const dist = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

describe("bundled montages against MNE 1.3 make_standard_montage", () => {
  it("bundles every montage the goldens cover", () => {
    expect(builtinMontages()).toEqual(expect.arrayContaining(Object.keys(G)));
  });
  for (const [name, g] of Object.entries(G)) {
    it(`${name}: labels in order, positions and fiducials within 0.1 mm, head frame as set_montage`, () => {
      const m = loadMontage(name);
      expect(m.frame).toBe(g.coord_frame === "mri" ? "mri" : "unknown");
      expect(m.labels).toEqual(g.ch_names);
      m.positions.forEach((p, i) => expect(dist(p, g.positions[i]!)).toBeLessThan(1e-4));
      for (const k of ["nasion", "lpa", "rpa"] as const) {
        if (g[k] === null) expect(m[k]).toBeUndefined();
        else expect(dist(m[k]!, g[k]!)).toBeLessThan(1e-4);
      }
      const head = montageInHead(m);
      head.positions.forEach((p, i) => expect(dist(p, g.head[i]!)).toBeLessThan(1e-4));
    });
  }
});

describe("montage files", () => {
  it("are exactly what the converter makes from shared/data/montages", () => {
    const read = (f: string) => readFileSync(sharedData(`montages/${f}`), "utf8");
    const made = [
      montageFromElc(read("standard_1020.elc"), "standard_1020"),
      montageFromElc(read("mgh60.elc"), "mgh60"),
      montageFromThetaPhi(read("biosemi64.txt"), "biosemi64"),
      montageFromThetaPhi(read("easycap-M1.txt"), "easycap-M1", { addFiducials: true }),
      montageFromSfp(read("GSN-HydroCel-129.sfp"), "GSN-HydroCel-129"),
    ];
    for (const m of made) {
      const file = readFileSync(join(SENSORS_DIR, `${m.name}.txt`), "utf8");
      const body = (t: string) => t.split("\n").filter((l) => !l.startsWith("#")).join("\n");
      expect(body(file)).toBe(body(formatMontage(m)));
    }
  });

  it("round-trip through formatMontage/parseMontage to 9 significant digits", () => {
    const m = loadMontage("standard_1005");
    const back = parseMontage(formatMontage(m));
    expect(back.labels).toEqual(m.labels);
    back.positions.forEach((p, i) => expect(dist(p, m.positions[i]!)).toBeLessThan(1e-9));
  });

  it("rejects malformed lines with the line number", () => {
    expect(() => parseMontage("name x\nelectrode Fp1 0.1 oops 0.2\n", "bad.txt")).toThrow(FormatError);
    expect(() => parseMontage("electrode Fp1 0 0 0\nelectrode Fp1 0 0 1\n")).toThrow(/duplicate electrode "Fp1"/);
    expect(() => parseMontage("frame sideways\n")).toThrow(/unknown frame/);
    expect(() => loadMontage("../etc/passwd")).toThrow(/unknown montage/);
  });
});
