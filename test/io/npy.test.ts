import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeNpy, encodeNpy, readNpy, writeNpy } from "../../src/io/npy.js";
import { FormatError } from "../../src/errors.js";
import { golden } from "../helpers/shared.js";

const ramp = (n: number) => Array.from({ length: n }, (_, i) => i * 0.5 - 3);

describe(".npy", () => {
  it("reads arrays NumPy wrote: C, Fortran and big-endian order, ints, scalars", () => {
    const a = readNpy(golden("npy/f32_3x4.npy"));
    expect(a.dtype).toBe("float32");
    expect(a.shape).toEqual([3, 4]);
    expect(Array.from(a.data as Float32Array)).toEqual(ramp(12));
    const f = readNpy(golden("npy/f32_fortran_3x4.npy"));
    expect(f.shape).toEqual([3, 4]);
    expect(Array.from(f.data as Float32Array)).toEqual(ramp(12));
    const b = readNpy(golden("npy/f64_bigendian_2x2.npy"));
    expect(Array.from(b.data as Float64Array)).toEqual(ramp(4));
    expect(readNpy(golden("npy/f64_2x3x4.npy")).shape).toEqual([2, 3, 4]);
    expect(Array.from(readNpy(golden("npy/i16_5.npy")).data as Int16Array)).toEqual([-2, -1, 0, 1, 2]);
    const s = readNpy(golden("npy/i64_scalar.npy"));
    expect(s.shape).toEqual([]);
    expect((s.data as BigInt64Array)[0]).toBe(7n);
  });

  it("writes byte-identical files to NumPy's np.save", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-npy-"));
    const p = join(dir, "x.npy");
    writeNpy(p, Float32Array.from(ramp(12)), [3, 4]);
    expect(readFileSync(p)).toEqual(readFileSync(golden("npy/f32_3x4.npy")));
    writeNpy(p, Float64Array.from(ramp(24)), [2, 3, 4]);
    expect(readFileSync(p)).toEqual(readFileSync(golden("npy/f64_2x3x4.npy")));
    expect(readdirSync(dir)).toEqual(["x.npy"]); // no temporary left behind
  });

  it("round-trips any float32 array and never throws anything but FormatError on corrupt bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 4 }), (vals, rows) => {
        const n = Math.floor(vals.length / rows) * rows || rows;
        const data = Float32Array.from({ length: n }, (_, i) => vals[i % vals.length]!);
        const bytes = encodeNpy({ dtype: "float32", shape: [rows, n / rows], data });
        const back = decodeNpy(bytes);
        expect(back.shape).toEqual([rows, n / rows]);
        expect(back.data).toEqual(data);
      }),
    );
    const good = encodeNpy({ dtype: "float64", shape: [4, 4], data: new Float64Array(16) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length }), fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), (cut, at, byte) => {
        const bad = good.slice(0, Math.max(cut, 0));
        if (at < bad.length) bad[at] = byte;
        try {
          decodeNpy(bad, "fuzz.npy");
        } catch (e) {
          expect(e).toBeInstanceOf(FormatError);
          expect((e as FormatError).path).toBe("fuzz.npy");
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("writeNpyRecording", () => {
  it("writes a strided view (a crop) row by row: the file holds the view's samples, C order", async () => {
    const { createRecording, crop } = await import("../../src/recording/recording.js");
    const { writeNpyRecording } = await import("../../src/io/npy-recording.js");
    const rows = [0, 1, 2].map((c) => Float32Array.from({ length: 10 }, (_, t) => c * 100 + t));
    const rec = createRecording({ data: rows, sfreq: 10, channels: rows.map((_, c) => ({ name: `C${c}`, kind: "eeg" as const, unit: "V", origUnit: "V" })) });
    const view = crop(rec, 0.2, 0.6);
    expect(view.data.stride[0]).toBe(10);
    const path = join(mkdtempSync(join(tmpdir(), "nc-npyrec-")), "view.npy");
    writeNpyRecording(path, view);
    const back = readNpy(path);
    expect(back.shape).toEqual([3, view.data.shape[1]]);
    const n = view.data.shape[1]!;
    expect(Array.from(back.data as Float32Array)).toEqual(rows.flatMap((r) => Array.from(r.subarray(2, 2 + n))));
  });
});
