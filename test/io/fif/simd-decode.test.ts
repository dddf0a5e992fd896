import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../../src/engine/random.js";
import { readFif } from "../../../src/io/fif/read.js";
import { FifDecodeArena } from "../../../src/io/fif/simd-decode.js";
import { fifToNpy } from "../../../src/io/fif/to-npy.js";
import { writeFif } from "../../../src/io/fif/writer.js";
import { readRecording, writeRecording } from "../../../src/io/open.js";
import { cropSamples, pick } from "../../../src/recording/recording.js";
import { sharedData } from "../../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "neurocode-fif-simd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = { onWarning: () => {} };

/** Float32 values that exercise the conversion: normal, tiny, huge, subnormal, ±0, ±Inf, NaN. */
function samples(rng: Rng, n: number): Float32Array {
  const special = [0, -0, Infinity, -Infinity, NaN, 1e-42, -3e-39, 3.4e38, -1e-30, 1];
  return Float32Array.from({ length: n }, (_, i) => (i % 13 === 5 ? special[(i / 13) % special.length | 0]! : rng.normal() * 10 ** ((i % 7) - 3)));
}

describe("FifDecodeArena: SIMD transpose and calibration of big-endian float32 buffers", () => {
  const arena = FifDecodeArena.create();

  it("is available here (WebAssembly SIMD)", () => {
    expect(arena).not.toBeNull();
  });

  it("equals the JS arithmetic (float32 × float64 factor, rounded once) for every channel count and sample count, edges included", () => {
    const rng = new Rng(41);
    for (const nchan of [1, 3, 4, 5, 8, 33, 38]) {
      for (const nsamp of [1, 3, 4, 5, 16, 17, 35, 601]) {
        const len = nsamp + 9; // rows longer than a buffer; written at offset o
        const o = 7;
        const chunk = arena!.reserve(nchan * len, nsamp * nchan * 4, nchan);
        chunk.fill(-1);
        const rows = Array.from({ length: nchan }, (_, k) => chunk.subarray(k * len, (k + 1) * len));
        const values = samples(rng, nsamp * nchan);
        const bytes = arena!.scratch(nsamp * nchan * 4);
        const be = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        values.forEach((v, i) => be.setFloat32(4 * i, v));
        const cals = Float64Array.from({ length: nchan }, (_, k) => (k % 4 === 3 ? 1 : rng.normal() * 1e-13));
        expect(arena!.scatterFloat(bytes, nchan, nsamp, cals, rows, o)).toBe(true);
        for (let k = 0; k < nchan; k++) {
          const want = new Float32Array(nsamp);
          for (let t = 0; t < nsamp; t++) want[t] = values[t * nchan + k]! * cals[k]!;
          const got = rows[k]!.subarray(o, o + nsamp);
          const where = `nchan ${nchan} nsamp ${nsamp} channel ${k}`;
          expect(new Uint32Array(got.slice().buffer).every((b, t) => b === new Uint32Array(want.buffer)[t] || (Number.isNaN(got[t]) && Number.isNaN(want[t]))), where).toBe(true);
          expect(rows[k]!.subarray(0, o).every((v) => v === -1) && rows[k]!.subarray(o + nsamp).every((v) => v === -1), `${where}: outside the range`).toBe(true);
        }
      }
    }
  });

  it("rows outside the arena go through its chunk; it declines (writing nothing) data not its own, rows it would overwrite, a chunk too small", () => {
    const [nchan, nsamp, len] = [4, 8, 8];
    const chunk = arena!.reserve(nchan * len, nsamp * nchan * 4, nchan);
    chunk.fill(0);
    const rows = Array.from({ length: nchan }, (_, k) => chunk.subarray(k * len, (k + 1) * len));
    const bytes = arena!.scratch(nsamp * nchan * 4);
    const be = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < nsamp * nchan; i++) be.setFloat32(4 * i, i);
    const cals = new Float64Array(nchan).fill(2);
    expect(arena!.scatterFloat(new Uint8Array(nsamp * nchan * 4), nchan, nsamp, cals, rows, 0)).toBe(false);
    expect(arena!.scatterFloat(bytes, nchan, nsamp, cals, [rows[0]!, rows[2]!, rows[1]!, rows[3]!], 0)).toBe(false);
    expect(arena!.scatterFloat(bytes, nchan, nsamp, cals, rows, 1)).toBe(false); // past the rows' ends
    expect(() => arena!.scratch(nsamp * nchan * 4 + 1)).toThrow(RangeError);
    expect(chunk.every((v) => v === 0)).toBe(true);
    // Host rows, staged through the chunk: out[k][2 + t] = 2 (t·nchan + k).
    const host = Array.from({ length: nchan }, () => new Float32Array(nsamp + 3));
    expect(arena!.scatterFloat(bytes, nchan, nsamp, cals, host, 2)).toBe(true);
    host.forEach((row, k) => expect([...row], `channel ${k}`).toEqual([0, 0, ...Array.from({ length: nsamp }, (_, t) => 2 * (t * nchan + k)), 0]));
    // A chunk smaller than nchan × nsamp cannot stage.
    arena!.reserve(nchan * nsamp - 4, nsamp * nchan * 4, nchan);
    const again = arena!.scratch(nsamp * nchan * 4);
    expect(arena!.scatterFloat(again, nchan, nsamp, cals, host, 0)).toBe(false);
  });
});

describe("fifToNpy through the SIMD decoder", () => {
  it("float files whose channel count is not a multiple of 4 convert byte for byte as the whole-recording path", async () => {
    const whole = cropSamples(readFif(sharedData("generated/neuromag_raw.fif"), quiet), 0, 1500);
    for (const n of [1, 6, 7, 37]) {
      const input = join(dir, `c${n}_raw.fif`);
      writeFif(input, pick(whole, whole.channels.slice(0, n).map((c) => c.name)));
      const [a, b] = [join(dir, `c${n}.stream.npy`), join(dir, `c${n}.whole.npy`)];
      await fifToNpy(input, a, { ...quiet, chunkBytes: 4 * n * 333 });
      writeRecording(b, readRecording(input, quiet));
      expect(readFileSync(a).equals(readFileSync(b)), `${n} channels`).toBe(true);
    }
  });
});

describe("readFif through the SIMD decoder", () => {
  it("reading all channels (SIMD, staged through the arena) equals reading them in another order (the JS path), bit for bit", () => {
    const neuromag = sharedData("generated/neuromag_raw.fif");
    const seven = join(dir, "seven_raw.fif");
    const whole = readFif(neuromag, quiet);
    writeFif(seven, pick(whole, whole.channels.slice(0, 7).map((c) => c.name)));
    for (const file of [neuromag, seven]) {
      const all = readFif(file, quiet);
      const names = all.channels.map((c) => c.name).reverse();
      const reordered = readFif(file, { ...quiet, channels: names });
      const n = all.channels.length;
      for (let k = 0; k < n; k++) {
        const [a, b] = [all.data.data.subarray(k * all.data.shape[1]!, (k + 1) * all.data.shape[1]!), reordered.data.data.subarray((n - 1 - k) * all.data.shape[1]!, (n - k) * all.data.shape[1]!)];
        expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${file} channel ${k}`).toBe(true);
      }
    }
  });
});
