import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeRecordsJs, edfDecoder } from "../../../src/io/edf/decode.js";

const arena = edfDecoder();

/** Bit patterns, so that -0, rounding and every last bit count. */
const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

describe("EDF/BDF SIMD decoding gives the plain-JS values bit for bit", () => {
  it("runs here (WebAssembly SIMD is available on Node 20)", () => {
    expect(arena).not.toBeNull();
  });

  it("random records, sample windows, widths, offsets and scales (EDF int16 and BDF int24)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<2 | 3>(2, 3),
        fc.constantFrom(1, 3, 4, 7, 8, 9, 15, 16, 17, 100, 256, 257),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.oneof(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.constantFrom(1, -1, 1e-7, 0.1, 3.0517578125e-5)),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
        (bps, spr, before, nRecs, offset, scale, seed, [fa, fb]) => {
          // Each record: `before` samples of another signal, this signal's spr samples, two more samples.
          const sampleBytes = bps;
          const recordBytes = (before + spr + 2) * sampleBytes;
          const buf = arena!.reserve(nRecs * recordBytes, nRecs * spr);
          let s = seed;
          for (let i = 0; i < buf.length; i++) {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            buf[i] = s >>> 24;
          }
          // Extremes of both widths somewhere in the data.
          if (buf.length >= 6) buf.set(bps === 2 ? [0x00, 0x80, 0xff, 0x7f, 0xff, 0xff] : [0x00, 0x00, 0x80, 0xff, 0xff, 0x7f], 0);
          const a = Math.floor(fa * spr);
          const b = a + Math.ceil(fb * (spr - a));
          const at = before * sampleBytes;
          const want = new Float32Array(nRecs * (b - a) + 3).fill(7);
          const got = new Float32Array(nRecs * (b - a) + 3).fill(7);
          decodeRecordsJs(buf, at, recordBytes, nRecs, a, b, bps, offset, scale, want, 1);
          expect(arena!.decode(buf, at, recordBytes, nRecs, a, b, bps, offset, scale, got, 1)).toBe(true);
          expect(bits(got)).toEqual(bits(want));
        },
      ),
      { numRuns: 400, seed: 2026 },
    );
  });

  it("the JS decoder's arithmetic: float32((digital + offset) · scale), int24 sign-extended", () => {
    const buf = arena!.reserve(12, 4);
    buf.set([0xff, 0xff, 0x7f, 0x00, 0x00, 0x80, 0xfe, 0xff, 0xff, 0x01, 0x00, 0x00]);
    const out = new Float32Array(4);
    expect(arena!.decode(buf, 0, 12, 1, 0, 4, 3, 0.5, 2, out, 0)).toBe(true);
    expect(Array.from(out)).toEqual([(8388607 + 0.5) * 2, (-8388608 + 0.5) * 2, (-2 + 0.5) * 2, (1 + 0.5) * 2].map(Math.fround));
    const buf2 = arena!.reserve(16, 8);
    new Int16Array(buf2.buffer, 0, 8).set([32767, -32768, -1, 0, 1, 2, 3, 4]);
    const out2 = new Float32Array(8);
    expect(arena!.decode(buf2, 0, 16, 1, 0, 8, 2, -0.25, 1e-7, out2, 0)).toBe(true);
    expect(Array.from(out2)).toEqual([32767, -32768, -1, 0, 1, 2, 3, 4].map((x) => Math.fround((x - 0.25) * 1e-7)));
  });

  it("declines buffers that are not its own, and staging it was not sized for", () => {
    const buf = arena!.reserve(64, 8);
    const out = new Float32Array(64);
    expect(arena!.decode(new Uint8Array(64), 0, 64, 1, 0, 8, 2, 0, 1, out, 0)).toBe(false);
    expect(arena!.decode(buf, 0, 32, 2, 0, 16, 2, 0, 1, out, 0)).toBe(false);
  });
});
