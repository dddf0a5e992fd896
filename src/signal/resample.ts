/**
 * Two resamplers, each equal to the one a reference pipeline uses:
 *
 * - `resampleFft`: MNE 1.3 `mne.filter.resample` / `Raw.resample(sfreq)`
 *   (FFT method, `npad="auto"`, `window="boxcar"`, `pad="reflect_limited"`).
 *   BrainOmni (256 Hz) and EEGDM (200 Hz) preprocess with `raw.resample`, so
 *   this is the one their checkpoints expect.
 * - `resamplePoly`: scipy 1.10 `scipy.signal.resample_poly(x, up, down)`
 *   (polyphase FIR, Kaiser β = 5 `firwin` design, zero padding), used by
 *   scripts that resample arrays outside MNE (e.g. EEGDM's CHB-MIT segments
 *   resampled to 2000 samples) and by `Raw.resample(method="polyphase")` in
 *   newer MNE.
 */
import { ConfigError, ShapeError, ValueError } from "../errors.js";
import { fillReflectLimited } from "./convolve.js";
import { fftPlan } from "./fft.js";
import { pffftPlan, pffftSupportsReal } from "./pffft.js";
import { firwinLowpass, kaiserWindow } from "./tapers.js";
import type { FloatArray } from "./types.js";

/** Python's round(): half to even. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Output length of MNE's resample for `n` input samples: `max(round(n·up/down), 1)`. */
export function resampledLength(n: number, up: number, down: number): number {
  return Math.max(pyRound((up / down) * n), 1);
}

export interface ResampleFftOptions {
  /** Padding added before the FFT: `"auto"` (default: up to the next power of two, at least `2·min(n/8, 100)`) or samples per side. */
  npad?: "auto" | number;
}

/**
 * Resamples rows by the rational factor `up/down` (any positive numbers, e.g.
 * new and old rates in Hz) with MNE's FFT method: reflect-limited padding,
 * spectrum truncation or zero extension with a boxcar window, inverse FFT of
 * the new length, padding removed. Rows must have equal lengths.
 */
export function resampleFft(rows: readonly FloatArray[], up: number, down: number, opts: ResampleFftOptions = {}, out?: FloatArray[]): FloatArray[] {
  if (!(up > 0) || !(down > 0) || !Number.isFinite(up) || !Number.isFinite(down)) throw new ValueError(`resampling factors must be positive, got up=${up}, down=${down}`);
  if (rows.length === 0) return out ?? [];
  const n = rows[0]!.length;
  rows.forEach((r, i) => {
    if (r.length !== n) throw new ShapeError(`row ${i}`, [n], [r.length]);
  });
  if (n === 0) throw new ValueError("cannot resample an empty signal");
  const ratio = up / down;
  const finalLen = resampledLength(n, up, down);
  let npads: [number, number];
  if (opts.npad === undefined || opts.npad === "auto") {
    const minAdd = Math.min(Math.floor(n / 8), 100) * 2;
    const total = 2 ** Math.ceil(Math.log2(n + minAdd)) - n;
    npads = [Math.floor(total / 2), Math.floor(total / 2) + (total % 2)];
  } else {
    if (!Number.isInteger(opts.npad) || opts.npad < 0) throw new ConfigError("npad", `must be "auto" or a non-negative integer, got ${opts.npad}`);
    npads = [opts.npad, opts.npad];
  }
  const oldLen = n + npads[0] + npads[1];
  const newLen = Math.max(pyRound(ratio * oldLen), 1);
  const removeStart = pyRound(ratio * npads[0]);
  const result = out ?? rows.map(() => new Float64Array(finalLen));
  result.forEach((r, i) => {
    if (r.length !== finalLen) throw new ShapeError(`output row ${i}`, [finalLen], [r.length]);
  });
  const shorter = newLen < oldLen;
  const useLen = shorter ? newLen : oldLen;
  // MNE's gain newLen/oldLen times the inverse FFT's 1/newLen, folded into the spectrum.
  const scale = 1 / oldLen;
  /** The spectrum's gain at bin k: MNE doubles (truncation) or halves (extension) an even length's Nyquist bin. */
  const gain = (k: number) => (useLen % 2 === 0 && k === useLen / 2 ? (shorter ? 2 : 0.5) * scale : scale);
  if (result.every((r) => r instanceof Float32Array) && pffftSupportsReal(oldLen) && pffftSupportsReal(newLen)) {
    resampleFloat32(rows, result as Float32Array[], npads, oldLen, newLen, removeStart, gain);
    return result;
  }
  const fwd = fftPlan(oldLen);
  const re = new Float64Array(oldLen);
  const im = new Float64Array(oldLen);
  const inv = fftPlan(newLen);
  const yr = new Float64Array(newLen);
  const yi = new Float64Array(newLen);
  const half = Math.floor(oldLen / 2);
  const newHalf = Math.floor(newLen / 2);
  const kMax = Math.min(half, newHalf);
  for (let c = 0; c < rows.length; c += 2) {
    const two = c + 1 < rows.length;
    fillReflectLimited(re, rows[c]!, npads[0], npads[1]);
    if (two) fillReflectLimited(im, rows[c + 1]!, npads[0], npads[1]);
    else im.fill(0);
    fwd.forward(re, im);
    // Bins above both Nyquists stay zero (spectrum truncation or zero extension).
    yr.fill(0, kMax + 1, newLen - kMax);
    yi.fill(0, kMax + 1, newLen - kMax);
    // Unpack the two real spectra A (row c) and B (row c+1), apply MNE's
    // Nyquist rule and gain, and repack them as one Hermitian pair.
    for (let k = 0; k <= kMax; k++) {
      const j = k === 0 ? 0 : oldLen - k;
      const zr = re[k]!, zi = im[k]!, wr = re[j]!, wi = im[j]!;
      let ar = (zr + wr) / 2, ai = (zi - wi) / 2;
      let br = (zi + wi) / 2, bi = (wr - zr) / 2;
      const g = gain(k);
      ar *= g;
      ai *= g;
      br *= g;
      bi *= g;
      // irfft ignores the imaginary part of DC and of an even length's Nyquist bin.
      if (k === 0 || (newLen % 2 === 0 && k === newHalf)) {
        ai = 0;
        bi = 0;
      }
      // Y = A + iB at k, conj(A) + i·conj(B) at newLen − k.
      yr[k] = ar - bi;
      yi[k] = ai + br;
      if (k !== 0 && !(newLen % 2 === 0 && k === newHalf)) {
        yr[newLen - k] = ar + bi;
        yi[newLen - k] = br - ai;
      }
    }
    // Inverse as swap(fft(swap(Y))): the real part lands in yr, the imaginary in yi.
    inv.forward(yi, yr);
    const oa = result[c]!;
    for (let i = 0; i < finalLen; i++) oa[i] = yr[removeStart + i]!;
    if (two) {
      const ob = result[c + 1]!;
      for (let i = 0; i < finalLen; i++) ob[i] = yi[removeStart + i]!;
    }
  }
  return result;
}

/**
 * The float32 path of `resampleFft` (PFFFT, lengths of the form 2^a·3^b·5^c
 * and multiples of 32, as `npad: "auto"` gives for common rates): per row, an
 * ordered real FFT of the padded row, the spectrum truncated or extended into
 * the new length's ordered layout, and a real inverse FFT.
 */
function resampleFloat32(rows: readonly FloatArray[], out: Float32Array[], npads: [number, number], oldLen: number, newLen: number, removeStart: number, gain: (k: number) => number): void {
  const fwd = pffftPlan(oldLen);
  const inv = pffftPlan(newLen);
  const oldHalf = oldLen / 2;
  const newHalf = newLen / 2;
  const kMax = Math.min(oldHalf, newHalf);
  rows.forEach((x, c) => {
    fillReflectLimited(fwd.a, x, npads[0], npads[1]);
    fwd.forwardOrdered();
    // Ordered layout: [X0, X_{n/2}, Re X1, Im X1, …]; both transforms have even lengths.
    const X = fwd.b;
    const Y = inv.a;
    // Bins 1 … kMax − 1 keep their place and the common gain; bulk-copy and scale them,
    // then set DC, bin kMax (possibly either Nyquist) and zero what lies above.
    const g = gain(1);
    Y.set(X.subarray(2, 2 * kMax), 2);
    for (let i = 2; i < 2 * kMax; i++) Y[i]! *= g;
    Y[0] = X[0]! * gain(0);
    Y[1] = 0;
    Y.fill(0, 2 * kMax);
    const re = kMax === oldHalf ? X[1]! : X[2 * kMax]!;
    const im = kMax === oldHalf ? 0 : X[2 * kMax + 1]!;
    // irfft ignores the imaginary part of the new Nyquist bin.
    if (kMax === newHalf) Y[1] = re * gain(kMax);
    else {
      Y[2 * kMax] = re * gain(kMax);
      Y[2 * kMax + 1] = im * gain(kMax);
    }
    inv.backwardOrdered();
    out[c]!.set(inv.b.subarray(removeStart, removeStart + out[c]!.length));
  });
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** scipy `upfirdn` output length. */
function upfirdnLength(nh: number, nIn: number, up: number, down: number): number {
  return Math.floor(((nIn - 1) * up + nh - 1) / down) + 1;
}

/** The anti-aliasing filter `resample_poly` designs (taps and sample bookkeeping). */
interface PolyPlan {
  up: number;
  down: number;
  h: Float64Array;
  nPreRemove: number;
  nOut: number;
}

function polyPlan(nIn: number, up: number, down: number, beta: number): PolyPlan {
  const g = gcd(up, down);
  up /= g;
  down /= g;
  let nOut = nIn * up;
  nOut = Math.floor(nOut / down) + (nOut % down ? 1 : 0);
  const maxRate = Math.max(up, down);
  const halfLen = 10 * maxRate;
  const core = firwinLowpass(2 * halfLen + 1, 1 / maxRate, 2, kaiserWindow(2 * halfLen + 1, beta));
  const nPrePad = down - (halfLen % down);
  const nPreRemove = Math.floor((halfLen + nPrePad) / down);
  let nPostPad = 0;
  while (upfirdnLength(core.length + nPrePad + nPostPad, nIn, up, down) < nOut + nPreRemove) nPostPad++;
  const h = new Float64Array(nPrePad + core.length + nPostPad);
  for (let i = 0; i < core.length; i++) h[nPrePad + i] = core[i]! * up;
  return { up, down, h, nPreRemove, nOut };
}

/** Output length of `resamplePoly` for `n` input samples: `ceil(n·up/down)` after reducing the fraction. */
export function resamplePolyLength(n: number, up: number, down: number): number {
  const g = gcd(up, down);
  return Math.ceil((n * (up / g)) / (down / g));
}

/**
 * Polyphase resampling by integers `up/down`, equal to scipy
 * `resample_poly(x, up, down, window=("kaiser", beta), padtype="constant")`:
 * zero-stuff by `up`, low-pass with a `20·max(up, down) + 1`-tap Kaiser
 * `firwin` at `1/max(up, down)` of Nyquist, keep every `down`-th sample.
 * Edges see zeros beyond the signal (scipy's default).
 */
export function resamplePoly(x: ArrayLike<number>, up: number, down: number, opts: { beta?: number } = {}, y?: FloatArray): FloatArray {
  if (!Number.isInteger(up) || !Number.isInteger(down) || up < 1 || down < 1) throw new ValueError(`up and down must be positive integers, got ${up}/${down}`);
  const nIn = x.length;
  if (nIn === 0) throw new ValueError("cannot resample an empty signal");
  const g = gcd(up, down);
  if (up === g && down === g) {
    const out = y ?? new Float64Array(nIn);
    for (let i = 0; i < nIn; i++) out[i] = x[i]!;
    return out;
  }
  const plan = polyPlan(nIn, up, down, opts.beta ?? 5.0);
  const { h, nPreRemove, nOut } = plan;
  const u = plan.up;
  const d = plan.down;
  const out = y ?? new Float64Array(nOut);
  if (out.length !== nOut) throw new ShapeError("output", [nOut], [out.length]);
  const nh = h.length;
  for (let i = 0; i < nOut; i++) {
    // y[j] = Σ_n x[n]·h[j·down − n·up] over the n that keep the tap index in range.
    const m0 = (nPreRemove + i) * d;
    const nLo = Math.max(0, Math.ceil((m0 - nh + 1) / u));
    const nHi = Math.min(nIn - 1, Math.floor(m0 / u));
    let acc = 0;
    for (let n = nLo, t = m0 - nLo * u; n <= nHi; n++, t -= u) acc += x[n]! * h[t]!;
    out[i] = acc;
  }
  return out;
}
