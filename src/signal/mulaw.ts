/**
 * µ-law companding. `mulawEncode`/`mulawDecode` are the classic µ-law
 * (µ = 255) for inputs in [−1, 1]; the `staged` variants are EEGDM's signal
 * embedding: identity for |x| ≤ 1 and µ-law compression of the excess range,
 * `sign(x)·ln(1 + µ|x|)/ln(1 + µ)` for |x| > 1 (continuous at ±1). EEGDM
 * applies it to volts × 1e4 (µV / 100), so a 10 mV spike becomes ≈ 1.83.
 */
import { ValueError } from "../errors.js";
import type { FloatArray } from "./types.js";

/** Applies `f` elementwise into `out` after checking µ. */
function mapWith(x: ArrayLike<number>, mu: number, out: FloatArray, f: (v: number, mu: number, logMu: number) => number): FloatArray {
  if (!(mu > 0) || !Number.isFinite(mu)) throw new ValueError(`µ must be a positive number, got ${mu}`);
  const d = Math.log1p(mu);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]!, mu, d);
  return out;
}

const compress = (v: number, mu: number, d: number) => (Math.sign(v) * Math.log1p(mu * Math.abs(v))) / d;
const expand = (v: number, mu: number, d: number) => (Math.sign(v) * Math.expm1(Math.abs(v) * d)) / mu;

/** Classic µ-law: `sign(x)·ln(1 + µ|x|)/ln(1 + µ)` elementwise (x expected in [−1, 1]). */
export function mulawEncode(x: ArrayLike<number>, mu = 255, out: FloatArray = new Float32Array(x.length)): FloatArray {
  return mapWith(x, mu, out, compress);
}

/** Inverse of `mulawEncode`: `sign(y)·((1 + µ)^|y| − 1)/µ`. */
export function mulawDecode(y: ArrayLike<number>, mu = 255, out: FloatArray = new Float32Array(y.length)): FloatArray {
  return mapWith(y, mu, out, expand);
}

/** EEGDM's staged µ-law: identity inside [−1, 1], µ-law outside. */
export function stagedMulawEncode(x: ArrayLike<number>, mu = 255, out: FloatArray = new Float32Array(x.length)): FloatArray {
  return mapWith(x, mu, out, (v, m, d) => (Math.abs(v) <= 1 ? v : compress(v, m, d)));
}

/** Inverse of `stagedMulawEncode` (used on generated samples). */
export function stagedMulawDecode(y: ArrayLike<number>, mu = 255, out: FloatArray = new Float32Array(y.length)): FloatArray {
  return mapWith(y, mu, out, (v, m, d) => (Math.abs(v) <= 1 ? v : expand(v, m, d)));
}
