/** Properties that can fail: gains of designed filters, resampling round trips, FFT against the DFT, fili agreement. */
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyZeroPhaseFir,
  bandPower,
  butterSos,
  designFir,
  designNotch,
  FftPlan,
  findFlatChannels,
  findHighAmplitudeChannels,
  mulawDecode,
  mulawEncode,
  resampleFft,
  resamplePoly,
  sosfilt,
  sosfiltfilt,
  sosfiltfiltRows,
  stagedMulawDecode,
  stagedMulawEncode,
  welch,
  zscoreChannels,
} from "../../src/signal/index.js";
import { recordingOf, sinusoids } from "./helpers.js";

/** Amplitude of the `f` Hz component of x[lo, hi) by least squares on sin/cos. */
function amplitude(x: ArrayLike<number>, f: number, sfreq: number, lo: number, hi: number): number {
  let ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
  for (let i = lo; i < hi; i++) {
    const s = Math.sin((2 * Math.PI * f * i) / sfreq);
    const c = Math.cos((2 * Math.PI * f * i) / sfreq);
    ss += s * s; cc += c * c; sc += s * c; xs += x[i]! * s; xc += x[i]! * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det;
  const b = (xc * ss - xs * sc) / det;
  return Math.hypot(a, b);
}

const SF = 256;
const N = 256 * 60;

describe("MNE FIR design: pass band at unit gain, stop band at the Hamming design's 53 dB", () => {
  it("band-pass 1–40 Hz", () => {
    const h = designFir(SF, 1, 40);
    // l_trans = 1 Hz puts the lower stop edge at 0 Hz; the upper one is at 40 + 10 = 50 Hz.
    for (const [f, lo, hi] of [[10, 0.98, 1.02], [30, 0.98, 1.02], [80, 0, 10 ** (-53 / 20)], [120, 0, 10 ** (-53 / 20)]] as const) {
      const [y] = applyZeroPhaseFir([sinusoids(N, SF, [[f, 1]])], h);
      const a = amplitude(y!, f, SF, N / 4, (3 * N) / 4);
      expect(a).toBeGreaterThanOrEqual(lo);
      expect(a).toBeLessThanOrEqual(hi);
    }
  });
  it("notch at 50 and 60 Hz keeps 10 and 55 Hz", () => {
    const h = designNotch(SF, [50, 60]);
    const [y] = applyZeroPhaseFir([sinusoids(N, SF, [[50, 1], [60, 1], [10, 1], [55, 1]])], h);
    expect(amplitude(y!, 50, SF, N / 4, (3 * N) / 4)).toBeLessThan(10 ** (-53 / 20));
    expect(amplitude(y!, 60, SF, N / 4, (3 * N) / 4)).toBeLessThan(10 ** (-53 / 20));
    expect(Math.abs(amplitude(y!, 10, SF, N / 4, (3 * N) / 4) - 1)).toBeLessThan(0.02);
    expect(Math.abs(amplitude(y!, 55, SF, N / 4, (3 * N) / 4) - 1)).toBeLessThan(0.02);
  });
  it("filter lengths follow MNE's 3.3 / transition rule (odd)", () => {
    expect(designFir(256, 0.1, 96).length).toBe(8449);
    expect(designFir(256, 1, 40).length).toBe(845);
    expect(designNotch(256, [50, 60]).length).toBe(1691);
  });
});

describe("Butterworth + sosfiltfilt", () => {
  it("is −6 dB at a band edge, unit gain inside, and a single pass is −3 dB", () => {
    const sos = butterSos(4, [5, 30], "bandpass", SF);
    for (const [f, want] of [[12, 1], [30, 0.5]] as const) {
      const x = sinusoids(N, SF, [[f, 1]]);
      expect(amplitude(sosfiltfilt(sos, x), f, SF, N / 4, (3 * N) / 4)).toBeCloseTo(want, 3);
    }
    const y = sosfilt(butterSos(4, 30, "lowpass", SF), sinusoids(N, SF, [[30, 1]]));
    expect(amplitude(y, 30, SF, N / 4, (3 * N) / 4)).toBeCloseTo(Math.SQRT1_2, 3);
  });
  it("equals fili's Butterworth low-pass (fili order counts biquads)", () => {
    const fili = createRequire(import.meta.url)("fili") as { CalcCascades: new () => { lowpass(o: object): unknown }; IirFilter: new (c: unknown) => { multiStep(x: number[]): number[] } };
    const coeffs = new fili.CalcCascades().lowpass({ order: 2, characteristic: "butterworth", Fs: SF, Fc: 30 });
    // fili's own impulseResponse()/simulate() disagree with its multiStep(); multiStep is the plain cascade.
    const impulse = new Float64Array(200);
    impulse[0] = 1;
    const want = new fili.IirFilter(coeffs).multiStep(Array.from(impulse));
    const got = sosfilt(butterSos(4, 30, "lowpass", SF), impulse);
    for (let i = 0; i < 200; i++) expect(got[i]!).toBeCloseTo(want[i]!, 12);
  });
});

describe("resampling", () => {
  const band = sinusoids(4096, SF, [[3, 1], [17, 0.5], [41, 0.25]], 0.3);
  it("MNE FFT: up then down returns a band-limited signal", () => {
    const [up] = resampleFft([band], 2, 1);
    const [back] = resampleFft([up as Float64Array], 1, 2);
    expect(back!.length).toBe(band.length);
    let e = 0;
    for (let i = 200; i < band.length - 200; i++) e = Math.max(e, Math.abs(back![i]! - band[i]!));
    expect(e).toBeLessThan(2e-5);
  });
  it("polyphase: up then down returns a band-limited signal away from the zero-padded edges", () => {
    const up = resamplePoly(band, 5, 2);
    const back = resamplePoly(up, 2, 5);
    expect(back.length).toBe(band.length);
    let e = 0;
    for (let i = 100; i < band.length - 100; i++) e = Math.max(e, Math.abs(back[i]! - band[i]!));
    expect(e).toBeLessThan(5e-3);
  });
});

describe("FFT", () => {
  it("equals the DFT for any length (mixed radix and Bluestein)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 160 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const re = Float64Array.from({ length: n }, (_, i) => Math.sin(seed + i * 1.3));
        const im = Float64Array.from({ length: n }, (_, i) => Math.cos(seed * 0.7 + i * 0.4));
        const a = re.slice(), b = im.slice();
        new FftPlan(n).forward(a, b);
        for (let k = 0; k < n; k++) {
          let sr = 0, si = 0;
          for (let j = 0; j < n; j++) {
            const t = (-2 * Math.PI * ((j * k) % n)) / n;
            sr += re[j]! * Math.cos(t) - im[j]! * Math.sin(t);
            si += re[j]! * Math.sin(t) + im[j]! * Math.cos(t);
          }
          expect(Math.abs(a[k]! - sr)).toBeLessThan(1e-9 * n);
          expect(Math.abs(b[k]! - si)).toBeLessThan(1e-9 * n);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("FFT at large mixed-radix sizes", () => {
  it("maps a complex exponential to one bin (2^17 and 2^15·5^2)", () => {
    for (const n of [1 << 17, 819200]) {
      const re = new Float64Array(n);
      const im = new Float64Array(n);
      const k0 = 12345;
      for (let i = 0; i < n; i++) {
        const a = (2 * Math.PI * ((k0 * i) % n)) / n;
        re[i] = Math.cos(a);
        im[i] = Math.sin(a);
      }
      new FftPlan(n).forward(re, im);
      let e = 0;
      for (let k = 0; k < n; k++) e = Math.max(e, Math.abs(re[k]! - (k === k0 ? n : 0)), Math.abs(im[k]!));
      expect(e).toBeLessThan(1e-8);
    }
  });
});

describe("Welch and band power", () => {
  it("a unit sinusoid carries power 1/2 in its band", () => {
    const { freqs, psd } = welch(sinusoids(SF * 30, SF, [[16, 1]]), SF);
    expect(freqs[1]).toBe(1);
    expect(bandPower({ freqs, psd }, 14, 18)).toBeCloseTo(0.5, 2);
  });
});

describe("µ-law", () => {
  it("round-trips and matches the closed forms", () => {
    const x = Float32Array.from([-1, -0.5, 0, 0.01, 0.7, 1]);
    const back = mulawDecode(mulawEncode(x));
    x.forEach((v, i) => expect(back[i]).toBeCloseTo(v, 6));
    expect(mulawEncode([0.5])[0]).toBeCloseTo(Math.log(1 + 127.5) / Math.log(256), 6);
    // EEGDM: identity inside ±1, 10 mV (×1e4 = 100) → ≈ 1.83.
    const s = stagedMulawEncode([0.3, -1, 100, -100]);
    expect([s[0], s[1]]).toEqual([Math.fround(0.3), -1]);
    expect(s[2]).toBeCloseTo(Math.log(1 + 25500) / Math.log(256), 5);
    expect(s[2]).toBeCloseTo(1.83, 2);
    expect(stagedMulawDecode(s)[3]).toBeCloseTo(-100, 3);
  });
});

describe("per-channel z-score and amplitude checks", () => {
  it("z-scores each row to mean 0, std 1 and refuses constant rows", () => {
    const [z] = zscoreChannels([Float32Array.from([1, 2, 3, 4])]);
    const m = z!.reduce((a, b) => a + b, 0) / 4;
    const sd = Math.sqrt(z!.reduce((a, b) => a + (b - m) ** 2, 0) / 4);
    expect(m).toBeCloseTo(0, 6);
    expect(sd).toBeCloseTo(1, 6);
    expect(() => zscoreChannels([new Float32Array(4)])).toThrow(/constant/);
  });
  it("finds flat and high-amplitude channels by peak-to-peak", () => {
    const rec = recordingOf([new Float32Array(100).fill(1e-5), sinusoids(100, 100, [[5, 20e-6]]), sinusoids(100, 100, [[5, 1e-3]])], 100, ["flat", "ok", "big"]);
    expect(findFlatChannels(rec)).toEqual(["flat"]);
    expect(findHighAmplitudeChannels(rec, 500e-6)).toEqual(["big"]);
  });
});

describe("sosfiltfiltRows", () => {
  it("gives exactly sosfiltfilt's numbers row by row (pairs, an odd last row, every padtype, in place)", () => {
    const sos = butterSos(4, [1, 40], "bandpass", 256);
    const rows = [0, 1, 2, 3, 4].map((c) => sinusoids(3000, 256, [[3 + c, 1], [50, 0.3]], c));
    for (const padtype of ["odd", "even", "constant", null] as const) {
      const want = rows.map((r) => sosfiltfilt(sos, r, { padtype }));
      const got = sosfiltfiltRows(sos, rows, { padtype });
      got.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(want[i]!)));
    }
    const copies = rows.map((r) => Float32Array.from(r));
    sosfiltfiltRows(sos, copies, {}, copies);
    copies.forEach((c, i) => expect(Array.from(c)).toEqual(Array.from(Float32Array.from(sosfiltfilt(sos, rows[i]!)))));
    // Rows of different lengths are filtered one by one.
    const mixed = sosfiltfiltRows(sos, [rows[0]!, rows[1]!.subarray(0, 2000)]);
    expect(Array.from(mixed[1]!)).toEqual(Array.from(sosfiltfilt(sos, rows[1]!.subarray(0, 2000))));
  });
});
