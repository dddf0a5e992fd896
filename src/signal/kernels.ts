/**
 * Row kernels: the per-channel work of filtering and resampling, described by
 * plain serialisable records so that the same code runs on the main thread
 * and in `worker_threads` (see parallel.ts).
 */
import { applyZeroPhaseFir } from "./convolve.js";
import { sosfiltfiltRows, type Sos } from "./iir.js";
import { subtractMean } from "./mean-reference.js";
import { resampleFft, resamplePoly } from "./resample.js";
import type { FloatArray } from "./types.js";

export type RowKernel =
  /** MNE zero-phase FIR (odd taps) with reflect-limited padding; output length = input length. */
  | { op: "fir"; h: Float64Array }
  /** scipy `sosfiltfilt` with odd padding; `padlen` undefined means scipy's default. */
  | { op: "sosfiltfilt"; sos: Sos; padlen?: number }
  /** MNE FFT resampling by up/down. */
  | { op: "resampleFft"; up: number; down: number; npad: "auto" | number }
  /** scipy `resample_poly` by integers up/down. */
  | { op: "resamplePoly"; up: number; down: number }
  /**
   * Average or channel reference: the rows are every channel over one time
   * range, and rows `to` lose the mean of rows `from`. Split across threads
   * by time, not by rows (see `splitsByTime`).
   */
  | { op: "subtractMean"; from: number[]; to: number[] };

/** Whether a kernel mixes rows, so that threads must share its work by time ranges instead of by rows. */
export function splitsByTime(kernel: RowKernel): boolean {
  return kernel.op === "subtractMean";
}

function overlaps(a: FloatArray, b: FloatArray): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Runs a kernel on rows; `outputs[i]` receives the result for `inputs[i]` (may alias it for same-length ops). */
export function runKernel(kernel: RowKernel, inputs: FloatArray[], outputs: FloatArray[]): void {
  switch (kernel.op) {
    case "fir":
      applyZeroPhaseFir(inputs, kernel.h, outputs);
      return;
    case "sosfiltfilt":
      sosfiltfiltRows(kernel.sos, inputs, kernel.padlen === undefined ? {} : { padlen: kernel.padlen }, outputs);
      return;
    case "resampleFft":
      resampleFft(inputs, kernel.up, kernel.down, { npad: kernel.npad }, outputs);
      return;
    case "resamplePoly":
      // The polyphase loop reads input while it writes output: an output over its own input needs a copy first.
      inputs.forEach((x, i) => resamplePoly(overlaps(x, outputs[i]!) ? x.slice() : x, kernel.up, kernel.down, {}, outputs[i]));
      return;
    case "subtractMean":
      subtractMean(inputs, outputs, kernel.from, kernel.to);
      return;
  }
}

/**
 * Relative cost of a kernel per input sample, in units of ~4 ns on this
 * machine (float32 FIR ≈ 1, each IIR section ≈ 1 with rows in pairs, FFT
 * resampling ≈ 3, a reference ≈ 0.5); used to decide when threads pay.
 */
export function kernelCost(kernel: RowKernel): number {
  switch (kernel.op) {
    case "fir":
      return 1;
    case "sosfiltfilt":
      return kernel.sos.length;
    case "resampleFft":
      return 3;
    case "resamplePoly":
      return 1;
    case "subtractMean":
      // Per sample of every row: two passes of simple arithmetic.
      return 0.5;
  }
}
