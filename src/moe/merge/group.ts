import { ShapeError, ValueError } from "../../errors.js";
import type { Matrix } from "./matrix.js";

/** Result of routing-guided grouping: `labels[e]` is the group of expert e; `cores[g]` the dominant expert of group g. */
export interface ExpertGroups {
  labels: Int32Array;
  cores: Int32Array;
}

/**
 * Usage frequency of each expert (MC-SMoE): the share of calibration tokens
 * whose top-1 choice is that expert. `top1[t]` is the expert index of token t.
 */
export function usageFrequencies(top1: ArrayLike<number>, numExperts: number): Float64Array {
  if (top1.length === 0) throw new ValueError("usageFrequencies: no tokens");
  const f = new Float64Array(numExperts);
  for (let t = 0; t < top1.length; t++) {
    const e = top1[t]!;
    if (!Number.isInteger(e) || e < 0 || e >= numExperts) throw new ValueError(`usageFrequencies: expert index ${e} out of [0, ${numExperts})`);
    f[e]! += 1;
  }
  for (let e = 0; e < numExperts; e++) f[e]! /= top1.length;
  return f;
}

/**
 * Expert similarity from router logits (MC-SMoE `router-logits` base): for the
 * `T × E` matrix of calibration-token logits, `(cos(logits[:, i], logits[:, j]) + 1) / 2`,
 * so 1 means "always routed alike" and 0 "opposite". Diagonal is 1.
 */
export function routerLogitSimilarity(logits: Matrix): Matrix {
  const { rows: t, cols: e } = logits;
  const gram = new Float64Array(e * e);
  for (let r = 0; r < t; r++) {
    const o = r * e;
    for (let i = 0; i < e; i++) for (let j = i; j < e; j++) gram[i * e + j]! += logits.data[o + i]! * logits.data[o + j]!;
  }
  const out = new Float64Array(e * e);
  for (let i = 0; i < e; i++) {
    out[i * e + i] = 1;
    for (let j = i + 1; j < e; j++) {
      const den = Math.sqrt(gram[i * e + i]! * gram[j * e + j]!);
      const cos = den > 0 ? gram[i * e + j]! / den : 0;
      out[i * e + j] = out[j * e + i] = (cos + 1) / 2;
    }
  }
  return { rows: e, cols: e, data: out };
}

/**
 * Routing-guided grouping (MC-SMoE `group_experts_into_clusters_by_routing_guided`):
 * the `numGroups` most used experts become group cores (labels 0..G−1 in order of
 * decreasing usage, ties by lower index); each other expert joins the core it is
 * most similar to.
 *
 * The reference code indexes non-core experts by loop position rather than by
 * expert id, so some experts are never re-assigned; this implements the intended
 * rule (every non-core expert is assigned by its own similarity row).
 */
export function groupExpertsByRouting(usage: Float64Array, similarity: Matrix, numGroups: number): ExpertGroups {
  const e = usage.length;
  if (similarity.rows !== e || similarity.cols !== e) throw new ShapeError("groupExpertsByRouting similarity", [e, e], [similarity.rows, similarity.cols]);
  if (!Number.isInteger(numGroups) || numGroups < 1 || numGroups > e) throw new ValueError(`groupExpertsByRouting: numGroups ${numGroups} not in [1, ${e}]`);
  const order = Array.from({ length: e }, (_, i) => i).sort((a, b) => usage[b]! - usage[a]! || a - b);
  const cores = Int32Array.from(order.slice(0, numGroups));
  const labels = new Int32Array(e).fill(-1);
  cores.forEach((c, g) => (labels[c] = g));
  for (const x of order.slice(numGroups)) {
    let best = 0;
    for (let g = 1; g < numGroups; g++) if (similarity.data[x * e + cores[g]!]! > similarity.data[x * e + cores[best]!]!) best = g;
    labels[x] = best;
  }
  return { labels, cores };
}
