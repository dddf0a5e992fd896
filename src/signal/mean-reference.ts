/**
 * The arithmetic of average and channel references, on rows of samples, kept
 * apart from the Recording-level code so that worker threads can run it on
 * time ranges (kernels.ts) without importing the Recording machinery.
 */
import type { FloatArray } from "./types.js";

/** Samples per block: a block of the reference and of every channel stay in cache between the two passes. */
const REF_BLOCK = 2048;

/**
 * `dst[i] = src[i] − mean of the src[from] channels` for every `i` in `to`,
 * `dst[i] = src[i]` for the other rows (rows: the channels over one time
 * range, equal lengths),
 * the mean summed in float64 in channel order as MNE does. Works block by block
 * over time, so `dst` may be `src` (each block's reference is complete before
 * that block changes).
 */
export function subtractMean(src: readonly FloatArray[], dst: readonly FloatArray[], from: number[], to: number[]): void {
  const ns = src[0]?.length ?? 0;
  const referenced = new Set(to);
  src.forEach((r, i) => {
    if (!referenced.has(i) && dst[i] !== r) dst[i]!.set(r);
  });
  const ref = new Float64Array(REF_BLOCK);
  for (let t0 = 0; t0 < ns; t0 += REF_BLOCK) {
    const m = Math.min(REF_BLOCK, ns - t0);
    ref.fill(0, 0, m);
    // Four channels per pass over the block, added one after another: the same float64 sum, fewer passes over ref.
    let j = 0;
    for (; j + 4 <= from.length; j += 4) {
      const a = src[from[j]!]!;
      const b = src[from[j + 1]!]!;
      const c = src[from[j + 2]!]!;
      const d = src[from[j + 3]!]!;
      for (let k = 0, t = t0; k < m; k++, t++) ref[k] = ref[k]! + a[t]! + b[t]! + c[t]! + d[t]!;
    }
    for (; j < from.length; j++) {
      const r = src[from[j]!]!;
      for (let k = 0; k < m; k++) ref[k]! += r[t0 + k]!;
    }
    for (let k = 0; k < m; k++) ref[k]! /= from.length;
    for (const i of to) {
      const s = src[i]!;
      const d = dst[i]!;
      for (let k = 0; k < m; k++) d[t0 + k] = s[t0 + k]! - ref[k]!;
    }
  }
}
