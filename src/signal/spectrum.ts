/**
 * Welch power spectral density, equal to scipy 1.10 `scipy.signal.welch`
 * (defaults: periodic Hann window, `nperseg = 256`, 50 % overlap, constant
 * detrend, density scaling, one-sided, mean over segments), and band power.
 * MNE's `Raw.compute_psd()` is the same estimator with a Hamming window,
 * no overlap and `n_fft = min(n_times, 2048)` (see `mnePsdOptions`).
 */
import { ConfigError, ValueError } from "../errors.js";
import { fftPlan } from "./fft.js";
import { periodicWindow, type FirWindow } from "./tapers.js";

export interface WelchOptions {
  /** Segment length in samples (default 256, or the signal length if shorter, as scipy). */
  nperseg?: number;
  /** Overlap in samples (default `nperseg / 2`, floored). */
  noverlap?: number;
  /** FFT length ≥ nperseg (default nperseg). */
  nfft?: number;
  /** Periodic window (default `"hann"`). */
  window?: FirWindow;
  /** Remove each segment's mean (default true, scipy's `detrend="constant"`). */
  detrend?: boolean;
  /** `"density"` (V²/Hz, default) or `"spectrum"` (V²). */
  scaling?: "density" | "spectrum";
}

export interface Psd {
  /** Frequencies in Hz, `k·sfreq/nfft`, k = 0 … nfft/2. */
  freqs: Float64Array;
  /** Power per frequency (units² / Hz for density scaling). */
  psd: Float64Array;
}

/** Welch PSD of one signal sampled at `sfreq` Hz. */
export function welch(x: ArrayLike<number>, sfreq: number, opts: WelchOptions = {}): Psd {
  const n = x.length;
  if (n === 0) throw new ValueError("welch: empty signal");
  if (!(sfreq > 0)) throw new ConfigError("sfreq", `must be a positive number of Hz, got ${sfreq}`);
  let nperseg = opts.nperseg ?? 256;
  if (!Number.isInteger(nperseg) || nperseg < 1) throw new ConfigError("nperseg", `must be a positive integer, got ${nperseg}`);
  if (nperseg > n) nperseg = n;
  const noverlap = opts.noverlap ?? Math.floor(nperseg / 2);
  if (!Number.isInteger(noverlap) || noverlap < 0 || noverlap >= nperseg) throw new ConfigError("noverlap", `must be an integer in [0, nperseg), got ${noverlap}`);
  const nfft = opts.nfft ?? nperseg;
  if (!Number.isInteger(nfft) || nfft < nperseg) throw new ConfigError("nfft", `must be an integer ≥ nperseg (${nperseg}), got ${nfft}`);
  const win = periodicWindow(opts.window ?? "hann", nperseg);
  const detrend = opts.detrend ?? true;
  let sumW = 0;
  let sumW2 = 0;
  for (const w of win) {
    sumW += w;
    sumW2 += w * w;
  }
  const scale = (opts.scaling ?? "density") === "density" ? 1 / (sfreq * sumW2) : 1 / (sumW * sumW);
  const step = nperseg - noverlap;
  const nseg = Math.floor((n - noverlap) / step);
  const nf = Math.floor(nfft / 2) + 1;
  const acc = new Float64Array(nf);
  const plan = fftPlan(nfft);
  const re = new Float64Array(nfft);
  const im = new Float64Array(nfft);
  const fill = (buf: Float64Array, start: number) => {
    let m = 0;
    if (detrend) {
      for (let i = 0; i < nperseg; i++) m += x[start + i]!;
      m /= nperseg;
    }
    for (let i = 0; i < nperseg; i++) buf[i] = (x[start + i]! - m) * win[i]!;
    buf.fill(0, nperseg);
  };
  // Two real segments per complex FFT: Z = A + iB, |A|² and |B|² unpacked from Z[k], Z[N−k].
  for (let s = 0; s < nseg; s += 2) {
    fill(re, s * step);
    if (s + 1 < nseg) fill(im, (s + 1) * step);
    else im.fill(0);
    plan.forward(re, im);
    for (let k = 0; k < nf; k++) {
      const j = k === 0 ? 0 : nfft - k;
      const ar = (re[k]! + re[j]!) / 2, ai = (im[k]! - im[j]!) / 2;
      const br = (im[k]! + im[j]!) / 2, bi = (re[j]! - re[k]!) / 2;
      acc[k]! += ar * ar + ai * ai + br * br + bi * bi;
    }
  }
  const psd = new Float64Array(nf);
  for (let k = 0; k < nf; k++) {
    const oneSided = k === 0 || (nfft % 2 === 0 && k === nf - 1) ? 1 : 2;
    psd[k] = (acc[k]! * scale * oneSided) / nseg;
  }
  const freqs = Float64Array.from({ length: nf }, (_, k) => (k * sfreq) / nfft);
  return { freqs, psd };
}

/** The Welch settings of MNE 1.3 `Raw.compute_psd()` for a signal of `nTimes` samples. */
export function mnePsdOptions(nTimes: number): WelchOptions {
  const nfft = Math.min(nTimes, 2048);
  return { nperseg: nfft, noverlap: 0, nfft, window: "hamming", detrend: true };
}

/**
 * Power in `[fmin, fmax]` Hz (inclusive) from a PSD: the rectangle rule
 * Σ psd(f)·Δf over the bins in the band, Δf = freqs[1] − freqs[0].
 */
export function bandPower({ freqs, psd }: Psd, fmin: number, fmax: number): number {
  if (!(fmin <= fmax)) throw new ValueError(`band [${fmin}, ${fmax}] Hz is empty`);
  if (freqs.length < 2) throw new ValueError("bandPower needs at least two frequency bins");
  const df = freqs[1]! - freqs[0]!;
  let p = 0;
  for (let k = 0; k < freqs.length; k++) if (freqs[k]! >= fmin && freqs[k]! <= fmax) p += psd[k]!;
  return p * df;
}
