import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildTable, fixedSizeListColumn, readArrow, writeArrow } from "../../src/io/arrow.js";
import { FormatError, ShapeError } from "../../src/errors.js";

describe("arrow tables", () => {
  it("round-trips typed, string and fixed-size-list columns with metadata", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-arrow-"));
    const emb = Float32Array.from({ length: 12 }, (_, i) => i * 0.5);
    const t = buildTable(
      { file: ["a.edf", "a.edf", "b.edf"], window: Int32Array.from([0, 1, 0]), start: Float64Array.from([0, 2.5, 0]), emb: fixedSizeListColumn(emb, 4) },
      { sfreq: "256" },
    );
    const path = join(dir, "t.arrow");
    writeArrow(path, t);
    expect(readdirSync(dir)).toEqual(["t.arrow"]);
    const back = readArrow(path);
    expect(back.numRows).toBe(3);
    expect(back.schema.metadata.get("sfreq")).toBe("256");
    expect(back.getChild("file")!.toArray()).toEqual(["a.edf", "a.edf", "b.edf"]);
    expect(Array.from(back.getChild("window")!.toArray() as Int32Array)).toEqual([0, 1, 0]);
    expect(Array.from(back.getChild("start")!.toArray() as Float64Array)).toEqual([0, 2.5, 0]);
    expect(Array.from(back.getChild("emb")!.get(2)!.toArray() as Float32Array)).toEqual([4, 4.5, 5, 5.5]);
  });

  it("serialises the same table to the same bytes whatever was built before", () => {
    const make = () => buildTable({ file: ["x.edf", "x.edf"], v: Float32Array.from([1, 2]) });
    const dir = mkdtempSync(join(tmpdir(), "nc-arrow-"));
    writeArrow(join(dir, "a.arrow"), make());
    buildTable({ other: ["a", "b", "c"] });
    writeArrow(join(dir, "b.arrow"), make());
    expect(readFileSync(join(dir, "a.arrow")).equals(readFileSync(join(dir, "b.arrow")))).toBe(true);
  });

  it("rejects ragged columns and non-Arrow files with typed errors", () => {
    expect(() => buildTable({ a: Int32Array.from([1, 2]), b: Int32Array.from([1]) })).toThrow(ShapeError);
    expect(() => fixedSizeListColumn(new Float32Array(5), 2)).toThrow(ShapeError);
    const dir = mkdtempSync(join(tmpdir(), "nc-arrow-"));
    const p = join(dir, "bad.arrow");
    writeFileSync(p, "not arrow at all");
    expect(() => readArrow(p)).toThrow(FormatError);
  });
});
