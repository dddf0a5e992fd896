/**
 * Symmetric windows as scipy's `get_window(name, n, fftbins=False)` builds
 * them (what `firwin` uses), plus the periodic Hann of `welch`.
 */
import { ValueError } from "../errors.js";

/** FIR design windows MNE accepts (`fir_window`). */
export type FirWindow = "hamming" | "hann" | "blackman";

/** Symmetric window of length n. */
export function symmetricWindow(name: FirWindow, n: number): Float64Array {
  const w = new Float64Array(n);
  if (n === 1) {
    w[0] = 1;
    return w;
  }
  for (let i = 0; i < n; i++) {
    const c = Math.cos((2 * Math.PI * i) / (n - 1));
    if (name === "hamming") w[i] = 0.54 - 0.46 * c;
    else if (name === "hann") w[i] = 0.5 - 0.5 * c;
    else if (name === "blackman") w[i] = 0.42 - 0.5 * c + 0.08 * Math.cos((4 * Math.PI * i) / (n - 1));
    else throw new ValueError(`unknown window "${String(name)}" (hamming, hann, blackman)`);
  }
  return w;
}

/** Periodic window of length n (scipy `get_window(name, n)`, fftbins=True), as `welch` uses. */
export function periodicWindow(name: FirWindow, n: number): Float64Array {
  return symmetricWindow(name, n + 1).subarray(0, n).slice();
}

/** Modified Bessel function of the first kind, order 0 (power series; converges for all x). */
export function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Symmetric Kaiser window with shape `beta` (scipy `kaiser(n, beta, sym=True)`). */
export function kaiserWindow(n: number, beta: number): Float64Array {
  const w = new Float64Array(n);
  if (n === 1) {
    w[0] = 1;
    return w;
  }
  const alpha = (n - 1) / 2;
  const d = besselI0(beta);
  for (let i = 0; i < n; i++) {
    const r = (i - alpha) / alpha;
    w[i] = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / d;
  }
  return w;
}

/**
 * Windowed-sinc low-pass, scipy `firwin(n, cutoff, window, pass_zero=True,
 * fs)`: `cutoff` in Hz, scaled to unit gain at DC.
 */
export function firwinLowpass(n: number, cutoff: number, fs: number, window: Float64Array): Float64Array {
  const c = cutoff / (fs / 2);
  if (!(c > 0 && c < 1)) throw new ValueError(`firwin cutoff ${cutoff} Hz must be within (0, ${fs / 2}) Hz`);
  const alpha = 0.5 * (n - 1);
  const h = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const m = i - alpha;
    const x = c * m;
    h[i] = c * (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x)) * window[i]!;
    sum += h[i]!;
  }
  for (let i = 0; i < n; i++) h[i]! /= sum;
  return h;
}
