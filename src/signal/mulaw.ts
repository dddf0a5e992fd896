/**
 * µ-law companding. `mulawEncode`/`mulawDecode` are the classic µ-law
 * (µ = 255) for inputs in [−1, 1]; the `staged` variants are EEGDM's signal
 * embedding: identity for |x| ≤ 1 and µ-law compression of the excess range,
 * `sign(x)·ln(1 + µ|x|)/ln(1 + µ)` for |x| > 1 (continuous at ±1). EEGDM
 * applies it to volts × 1e4 (µV / 100), so a 10 mV spike becomes ≈ 1.83.
 */
import { ValueError } from "../errors.js";
import type { FloatArray } from "./types.js";

function checkMu(mu: number): void {
  if (!(mu > 0) || !Number.isFinite(mu)) throw new ValueError(`µ must be a positive number, got ${mu}`);
}

/** Classic µ-law: `sign(x)·ln(1 + µ|x|)/ln(1 + µ)` elementwise (x expected in [−1, 1]). */
export function mulawEncode(x: ArrayLike<number>, mu = 255, out: FloatArray = new Float32Array(x.length)): FloatArray {
  checkMu(mu);
  const d = Math.log1p(mu);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = (Math.sign(v) * Math.log1p(mu * Math.abs(v))) / d;
  }
  return out;
}

/** Inverse of `mulawEncode`: `sign(y)·((1 + µ)^|y| − 1)/µ`. */
export function mulawDecode(y: ArrayLike<number>, mu = 255, out: FloatArray = new Float32Array(y.length)): FloatArray {
  checkMu(mu);
  const d = Math.log1p(mu);
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    out[i] = (Math.sign(v) * Math.expm1(Math.abs(v) * d)) / mu;
  }
  return out;
}

/** EEGDM's staged µ-law: identity inside [−1, 1], µ-law outside. */
export function stagedMulawEncode(x: ArrayLike<number>, mu = 255, out: FloatArray = new Float32Array(x.length)): FloatArray {
  checkMu(mu);
  const d = Math.log1p(mu);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = Math.abs(v) <= 1 ? v : (Math.sign(v) * Math.log1p(mu * Math.abs(v))) / d;
  }
  return out;
}

/** Inverse of `stagedMulawEncode` (used on generated samples). */
export function stagedMulawDecode(y: ArrayLike<number>, mu = 255, out: FloatArray = new Float32Array(y.length)): FloatArray {
  checkMu(mu);
  const d = Math.log1p(mu);
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    out[i] = Math.abs(v) <= 1 ? v : (Math.sign(v) * Math.expm1(Math.abs(v) * d)) / mu;
  }
  return out;
}
