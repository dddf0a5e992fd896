/**
 * MNE-Python's default FIR filters (`mne.filter.create_filter` with
 * `method="fir"`, `phase="zero"`, `fir_design="firwin"`), reproduced step by
 * step from MNE 1.3 so that coefficients match to rounding:
 *
 * - transition bands: `l_trans = min(max(0.25·l_freq, 2), l_freq)`,
 *   `h_trans = min(max(0.25·h_freq, 2), sfreq/2 − h_freq)` (Hz);
 * - length: `3.3 / min(transition)` seconds for Hamming (Hann 3.1, Blackman
 *   5.0), rounded up to samples and made odd;
 * - design (`_firwin_design`): one windowed-sinc low-pass per transition, each
 *   with its own length `round(3.3·sfreq / transition)`, summed centred.
 *
 * `l_freq`/`h_freq` are pass-band edges; the −6 dB points are at
 * `l_freq − l_trans/2` and `h_freq + h_trans/2`.
 */
import { ConfigError, ValueError } from "../errors.js";
import { firwinLowpass, symmetricWindow, type FirWindow } from "./tapers.js";

/** Length factor per window: filter length = factor / transition (s). */
const LENGTH_FACTORS: Record<FirWindow, number> = { hann: 3.1, hamming: 3.3, blackman: 5.0 };

export interface FirDesignOptions {
  /** Lower transition bandwidth in Hz (default `"auto"`, MNE's rule). */
  lTransBandwidth?: number | "auto";
  /** Upper transition bandwidth in Hz (default `"auto"`, MNE's rule). */
  hTransBandwidth?: number | "auto";
  /** Taps (odd integer), a duration such as `"10s"` / `"500ms"`, or `"auto"` (default). */
  filterLength?: number | string;
  /** Design window (default `"hamming"`, MNE's `fir_window`). */
  window?: FirWindow;
}

export interface NotchOptions {
  /** Width of each stop band in Hz (default `freq / 200`, MNE's). */
  notchWidths?: number | number[];
  /** Transition bandwidth in Hz on each side of the notch (default 1.0, MNE's). */
  transBandwidth?: number;
  filterLength?: number | string;
  window?: FirWindow;
}

/** numpy's round: half to even (MNE computes sub-filter lengths with it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** MNE `_to_samples` + odd length for firwin/zero phase. */
function lengthInSamples(filterLength: number | string, sfreq: number): number {
  let n: number;
  if (typeof filterLength === "number") {
    if (!Number.isInteger(filterLength) || filterLength < 1) throw new ConfigError("filterLength", `must be a positive integer number of taps, got ${filterLength}`);
    n = filterLength;
  } else {
    const m = /^\s*([0-9.eE+-]+)\s*(ms|s)\s*$/.exec(filterLength.toLowerCase());
    const v = m ? Number(m[1]) : NaN;
    if (!m || !Number.isFinite(v) || v <= 0) throw new ConfigError("filterLength", `must be "auto", a number of taps, or a duration like "10s", got "${filterLength}"`);
    n = Math.max(Math.ceil(v * (m[2] === "ms" ? 1e-3 : 1) * sfreq), 1);
  }
  return n + ((n - 1) % 2);
}

function checkPositive(name: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0) throw new ConfigError(name, `must be a positive number of Hz, got ${v}`);
}

/** Gain breakpoints (Hz, gains 0/1) → MNE `_firwin_design`. */
function firwinDesign(n: number, freqHz: number[], gain: number[], window: FirWindow, sfreq: number): Float64Array {
  const nyq = sfreq / 2;
  const freq = freqHz.map((f) => f / nyq);
  const h = new Float64Array(n);
  let prevFreq = freq[freq.length - 1]!;
  let prevGain = gain[gain.length - 1]!;
  if (prevGain === 1) h[(n - 1) / 2] = 1;
  for (let i = freq.length - 2; i >= 0; i--) {
    const thisFreq = freq[i]!;
    const thisGain = gain[i]!;
    if (thisGain !== prevGain) {
      const transition = (prevFreq - thisFreq) / 2;
      let thisN = roundHalfEven(LENGTH_FACTORS[window] / transition);
      thisN += 1 - (thisN % 2);
      if (thisN > n) {
        throw new ConfigError("filterLength", `${n} taps is too short for the ${((transition * sfreq) / 2).toFixed(2)} Hz transition band, which needs ${thisN}`);
      }
      const sub = firwinLowpass(thisN, (prevFreq + thisFreq) / 2, 2, symmetricWindow(window, thisN));
      const offset = (n - thisN) / 2;
      const sign = thisGain === 0 ? -1 : 1;
      for (let k = 0; k < thisN; k++) h[offset + k]! += sign * sub[k]!;
    }
    prevGain = thisGain;
    prevFreq = thisFreq;
  }
  return h;
}

function autoLength(opts: { filterLength?: number | string; window?: FirWindow }, minTrans: number, sfreq: number): number {
  const fl = opts.filterLength ?? "auto";
  const window = opts.window ?? "hamming";
  if (fl === "auto") return lengthInSamples(`${LENGTH_FACTORS[window] / minTrans}s`, sfreq);
  return lengthInSamples(fl, sfreq);
}

/**
 * Coefficients of MNE's FIR filter for `filter(l_freq, h_freq)`: band-pass
 * when `lFreq < hFreq`, band-stop when `lFreq > hFreq`, low-pass when `lFreq`
 * is null (or 0), high-pass when `hFreq` is null. Frequencies in Hz.
 */
export function designFir(sfreq: number, lFreq: number | null, hFreq: number | null, opts: FirDesignOptions = {}): Float64Array {
  checkPositive("sfreq", sfreq);
  const window = opts.window ?? "hamming";
  if (!(window in LENGTH_FACTORS)) throw new ConfigError("window", `unknown FIR window "${window}" (hamming, hann, blackman)`);
  const nyq = sfreq / 2;
  if (lFreq === 0) lFreq = null;
  if (lFreq !== null && !(lFreq > 0)) throw new ValueError(`high-pass frequency ${lFreq} Hz must be greater than zero`);
  if (hFreq !== null && !(hFreq > 0 && hFreq < nyq)) throw new ValueError(`low-pass frequency ${hFreq} Hz must be within (0, ${nyq}) Hz (Nyquist)`);
  if (lFreq !== null && hFreq !== null && lFreq > hFreq) return designBandStop(sfreq, [hFreq], [lFreq], opts.hTransBandwidth, opts.lTransBandwidth, opts);
  if (lFreq !== null && !(lFreq < nyq)) throw new ValueError(`high-pass frequency ${lFreq} Hz must be below Nyquist (${nyq} Hz)`);
  if (lFreq === null && hFreq === null) {
    const h = new Float64Array(1);
    h[0] = 1;
    return h;
  }
  let lTrans = Infinity;
  let hTrans = Infinity;
  const freq: number[] = [];
  const gain: number[] = [];
  if (lFreq !== null) {
    lTrans = opts.lTransBandwidth === undefined || opts.lTransBandwidth === "auto" ? Math.min(Math.max(0.25 * lFreq, 2), lFreq) : opts.lTransBandwidth;
    checkPositive("lTransBandwidth", lTrans);
    const stop = lFreq - lTrans;
    if (stop < 0) throw new ConfigError("lTransBandwidth", `lower stop frequency is negative (${stop.toFixed(2)} Hz): raise lFreq or narrow the transition`);
    if (stop !== 0) freq.push(0), gain.push(0);
    freq.push(stop, lFreq);
    gain.push(0, 1);
  } else {
    freq.push(0);
    gain.push(1);
  }
  if (hFreq !== null) {
    hTrans = opts.hTransBandwidth === undefined || opts.hTransBandwidth === "auto" ? Math.min(Math.max(0.25 * hFreq, 2), nyq - hFreq) : opts.hTransBandwidth;
    checkPositive("hTransBandwidth", hTrans);
    const stop = hFreq + hTrans;
    if (stop > nyq) throw new ConfigError("hTransBandwidth", `upper stop frequency ${stop} Hz is above Nyquist (${nyq} Hz)`);
    freq.push(hFreq, stop);
    gain.push(1, 0);
    if (stop !== nyq) freq.push(nyq), gain.push(0);
  } else {
    freq.push(nyq);
    gain.push(1);
  }
  const n = autoLength(opts, Math.min(lTrans, hTrans), sfreq);
  return firwinDesign(n, freq, gain, window, sfreq);
}

/** MNE's band-stop (one or more stop bands `[lows[i], highs[i]]`, `reverse=True` triage). */
function designBandStop(
  sfreq: number,
  lows: number[],
  highs: number[],
  lTransOpt: number | "auto" | undefined,
  hTransOpt: number | "auto" | undefined,
  opts: { filterLength?: number | string; window?: FirWindow },
): Float64Array {
  const nyq = sfreq / 2;
  const window = opts.window ?? "hamming";
  const fp1: number[] = [];
  const fs1: number[] = [];
  const fs2: number[] = [];
  const fp2: number[] = [];
  let minTrans = Infinity;
  lows.forEach((lo, i) => {
    const hi = highs[i]!;
    if (!(lo > 0)) throw new ValueError(`stop band lower edge ${lo} Hz must be greater than zero`);
    if (!(hi < nyq)) throw new ValueError(`stop band upper edge ${hi} Hz must be below Nyquist (${nyq} Hz)`);
    const lt = lTransOpt === undefined || lTransOpt === "auto" ? Math.min(Math.max(0.25 * lo, 2), lo) : lTransOpt;
    const ht = hTransOpt === undefined || hTransOpt === "auto" ? Math.min(Math.max(0.25 * hi, 2), nyq - hi) : hTransOpt;
    checkPositive("transBandwidth", lt);
    checkPositive("transBandwidth", ht);
    minTrans = Math.min(minTrans, lt, ht);
    // MNE's reverse triage: pass edges are the given frequencies, stop band is inside them.
    fp1.push(lo);
    fs1.push(lo + lt);
    fs2.push(hi - ht);
    fp2.push(hi);
  });
  const pts = [...fp1.map((f) => [f, 1]), ...fs1.map((f) => [f, 0]), ...fs2.map((f) => [f, 0]), ...fp2.map((f) => [f, 1])] as [number, number][];
  pts.sort((a, b) => a[0] - b[0]);
  const freq = pts.map((p) => p[0]);
  const gain = pts.map((p) => p[1]);
  if (freq[0] !== 0) freq.unshift(0), gain.unshift(1);
  if (freq[freq.length - 1] !== nyq) freq.push(nyq), gain.push(1);
  for (let i = 2; i < gain.length; i++) {
    if (Math.abs(gain[i]! - 2 * gain[i - 1]! + gain[i - 2]!) > 1) throw new ConfigError("freqs", "stop bands are not sufficiently separated");
  }
  const n = autoLength(opts, minTrans, sfreq);
  return firwinDesign(n, freq, gain, window, sfreq);
}

/**
 * Coefficients of MNE's default FIR notch (`notch_filter(freqs)`): a
 * multi-band band-stop with stop bands `freq ± notch_width/2` and pass edges
 * a further `trans_bandwidth/2` out. Frequencies in Hz.
 */
export function designNotch(sfreq: number, freqs: readonly number[], opts: NotchOptions = {}): Float64Array {
  checkPositive("sfreq", sfreq);
  if (freqs.length === 0) throw new ConfigError("freqs", "give at least one notch frequency");
  for (const f of freqs) if (!(f > 0 && f < sfreq / 2)) throw new ValueError(`notch frequency ${f} Hz must be within (0, ${sfreq / 2}) Hz (Nyquist)`);
  let widths: number[];
  if (opts.notchWidths === undefined) widths = freqs.map((f) => f / 200);
  else if (typeof opts.notchWidths === "number") widths = freqs.map(() => opts.notchWidths as number);
  else if (opts.notchWidths.length === freqs.length) widths = [...opts.notchWidths];
  else throw new ConfigError("notchWidths", "must be a number or one width per frequency");
  if (widths.some((w) => !(w >= 0))) throw new ConfigError("notchWidths", "must be >= 0 Hz");
  const tb2 = (opts.transBandwidth ?? 1) / 2;
  checkPositive("transBandwidth", tb2);
  const lows = freqs.map((f, i) => f - widths[i]! / 2 - tb2);
  const highs = freqs.map((f, i) => f + widths[i]! / 2 + tb2);
  return designBandStop(sfreq, lows, highs, tb2, tb2, opts);
}
