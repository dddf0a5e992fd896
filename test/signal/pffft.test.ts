/**
 * The PFFFT wrapper against the float64 FFT of fft.ts and closed forms, and
 * the float32 paths of FIR filtering and FFT resampling that use it.
 */
import { describe, expect, it } from "vitest";
import { applyZeroPhaseFir } from "../../src/signal/convolve.js";
import { FftPlan } from "../../src/signal/fft.js";
import { designFir } from "../../src/signal/fir.js";
import { pffftAvailable, pffftPlan, pffftSupportsReal } from "../../src/signal/pffft.js";
import { resampleFft } from "../../src/signal/resample.js";
import { maxAbsError, range } from "./helpers.js";

function noise(n: number, seed: number): Float32Array {
  let s = seed;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = s / 2147483648 - 0.5;
  }
  return x;
}

describe("pffft", () => {
  it("loads its SIMD WebAssembly build here", () => {
    expect(pffftAvailable()).toBe(true);
  });

  it("supports real lengths 2^a·3^b·5^c that are multiples of 32", () => {
    for (const n of [32, 96, 160, 4096, 65536, 819200, 1048576]) expect(pffftSupportsReal(n)).toBe(true);
    for (const n of [0, 16, 48 * 7, 1342177, 33, -64, 64.5]) expect(pffftSupportsReal(n)).toBe(false);
    expect(() => pffftPlan(48 * 7)).toThrow(RangeError);
  });

  it("gives the ordered real spectrum of the float64 FFT, and its inverse times n", () => {
    for (const n of [96, 4096, 819200]) {
      const x = noise(n, n);
      const plan = pffftPlan(n);
      plan.a.set(x);
      plan.forwardOrdered();
      const got = Float32Array.from(plan.b);
      const re = Float64Array.from(x);
      const im = new Float64Array(n);
      new FftPlan(n).forward(re, im);
      const want = new Float64Array(n);
      want[0] = re[0]!;
      want[1] = re[n / 2]!;
      for (let k = 1; k < n / 2; k++) {
        want[2 * k] = re[k]!;
        want[2 * k + 1] = im[k]!;
      }
      // float32 spectra: error grows like sqrt(log n)·eps·‖x‖.
      expect(maxAbsError([got], [want])).toBeLessThan(2e-6 * Math.sqrt(n));
      expect(Math.abs(got[5]!)).toBeGreaterThan(0);
      plan.a.set(got);
      plan.backwardOrdered();
      const back = Array.from(plan.b, (v) => v / n);
      expect(maxAbsError([back], [x])).toBeLessThan(1e-5);
    }
  });

  it("convolves circularly with a spectrum it made", () => {
    const n = 256;
    const plan = pffftPlan(n);
    const h = [0.5, -0.25, 0.125, 2];
    const H = plan.spectrum(h, 1 / n);
    const x = noise(n, 7);
    plan.a.set(x);
    plan.convolve(H);
    const want = new Float64Array(n);
    for (let t = 0; t < n; t++) for (let j = 0; j < h.length; j++) want[t]! += h[j]! * x[(t - j + n) % n]!;
    expect(maxAbsError([plan.b], [want])).toBeLessThan(1e-6);
    plan.free(H);
  });

  it("keeps working when more lengths are used than plans are kept", () => {
    const lengths = [32, 64, 96, 128, 160, 192, 256, 288, 320, 384];
    for (let round = 0; round < 2; round++) {
      for (const n of lengths) {
        const plan = pffftPlan(n);
        plan.a.fill(0);
        plan.a[1] = 1;
        plan.forwardOrdered();
        // δ[t − 1] has X[k] = e^{−2πik/n}: X[n/2] = −1 and X[1] = cos − i·sin(2π/n).
        expect(plan.b[1]).toBeCloseTo(-1, 6);
        expect(plan.b[2]).toBeCloseTo(Math.cos((2 * Math.PI) / n), 6);
        expect(plan.b[3]).toBeCloseTo(-Math.sin((2 * Math.PI) / n), 6);
      }
    }
  });
});

describe("float32 FIR and resampling (PFFFT) against the float64 path", () => {
  const n = 50_000;
  const rows = [noise(n, 1), noise(n, 2), noise(n, 3)];
  rows[1]!.forEach((v, i) => (rows[1]![i] = v + 3 * Math.sin(i / 500)));

  it("filters within 1e-6 of the range, in place too", () => {
    for (const h of [designFir(256, 0.1, 96), designFir(256, 1, 40), designFir(256, null, 40)]) {
      const want = applyZeroPhaseFir(rows, h);
      const got = applyZeroPhaseFir(rows, h, rows.map(() => new Float32Array(n)));
      expect(maxAbsError(got, want)).toBeLessThan(1e-6 * range(rows));
      const inPlace = rows.map((r) => Float32Array.from(r));
      applyZeroPhaseFir(inPlace, h, inPlace);
      expect(maxAbsError(inPlace, got)).toBe(0);
    }
  });

  it("resamples within 1e-6 of the range where PFFFT takes both lengths", () => {
    for (const [up, down] of [[200, 256], [128, 256], [512, 256]] as const) {
      const want = resampleFft(rows, up, down);
      const got = resampleFft(rows, up, down, {}, want.map((r) => new Float32Array(r.length)));
      expect(maxAbsError(got, want)).toBeLessThan(1e-6 * range(rows));
    }
  });
});
