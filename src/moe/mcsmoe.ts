import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../errors.js";
import type { ExpertFFN } from "./experts.js";
import { MoEFeedForward } from "./layer.js";
import { groupExpertsByRouting, routerLogitSimilarity, usageFrequencies, type ExpertGroups } from "./merge/group.js";
import { mergeExpertGroups } from "./merge/merge.js";
import { compressionError, lowRankPlusSparse, lowRankSparseParameterCount, reconstructLowRankSparse } from "./merge/compress.js";
import { expertParameterCount, type ExpertWeights } from "./merge/expert-weights.js";
import type { Matrix } from "./merge/matrix.js";

/** The experts of a stack as float64 host matrices (one `ExpertWeights` per expert FFN). */
export function readExperts(stack: ExpertFFN): ExpertWeights[] {
  const { numExperts: e, dModel: d, hidden: h } = stack;
  const slab = (v: tf.Variable | null, rows: number, cols: number): Matrix[] | null => {
    if (!v) return null;
    const all = v.dataSync();
    return Array.from({ length: e }, (_, i) => ({ rows, cols, data: Float64Array.from(all.subarray(i * rows * cols, (i + 1) * rows * cols)) }));
  };
  const up = slab(stack.wUp, d, h)!;
  const gate = slab(stack.wGate, d, h);
  const down = slab(stack.wDown, h, d)!;
  const bUp = slab(stack.bUp, 1, h);
  const bDown = slab(stack.bDown, 1, d);
  return up.map((wUp, i) => {
    const x: ExpertWeights = { wUp, wDown: down[i]! };
    if (gate) x.wGate = gate[i]!;
    if (bUp) x.bUp = bUp[i]!.data;
    if (bDown) x.bDown = bDown[i]!.data;
    return x;
  });
}

/** Overwrites the expert FFNs of a stack with `experts` (same count and sizes). */
export function writeExperts(x: ExpertFFN, experts: readonly ExpertWeights[]): void {
  if (experts.length !== x.numExperts) throw new ShapeError("writeExperts experts", [x.numExperts], [experts.length]);
  const put = (v: tf.Variable | null, part: (w: ExpertWeights) => Float64Array | undefined): void => {
    if (!v) return;
    const flat = new Float32Array(v.size);
    const per = v.size / x.numExperts;
    experts.forEach((w, i) => {
      const p = part(w);
      if (!p || p.length !== per) throw new ShapeError(`writeExperts expert ${i}`, [per], [p?.length ?? 0]);
      flat.set(p, i * per);
    });
    tf.tidy(() => v.assign(tf.tensor(flat, v.shape)));
  };
  put(x.wUp, (w) => w.wUp.data);
  put(x.wGate, (w) => w.wGate?.data);
  put(x.wDown, (w) => w.wDown.data);
  put(x.bUp, (w) => w.bUp);
  put(x.bDown, (w) => w.bDown);
}

/** Routing statistics of a layer on calibration tokens (MC-SMoE). */
export interface RoutingStatistics {
  /** [T × E] router logits. */
  logits: Matrix;
  /** Share of tokens whose top-1 choice is each expert. */
  usage: Float64Array;
}

/** Runs the router alone on `x` [..., d] (no noise, no masks changed) and returns logits and top-1 usage. */
export function routingStatistics(layer: MoEFeedForward, x: tf.Tensor): RoutingStatistics {
  const wasTraining = layer.router.training;
  layer.router.eval();
  try {
    const [logits, top1] = tf.tidy(() => {
      const r = layer.router.call(tf.reshape(x, [-1, layer.dModel]));
      return [r.logits, tf.argMax(r.logits, -1)];
    });
    const [t, e] = logits.shape as [number, number];
    const out = { logits: { rows: t, cols: e, data: Float64Array.from(logits.dataSync()) }, usage: usageFrequencies(top1.dataSync(), e) };
    tf.dispose([logits, top1]);
    return out;
  } finally {
    layer.router.train(wasTraining);
  }
}

/** Options of `mergeMoE`. */
export interface MergeMoEOptions {
  /** Number of experts kept G (group cores). */
  numGroups: number;
  /** Align neurons to the group core before averaging. Default true. */
  align?: boolean;
}

/** What `mergeMoE` returns. */
export interface MergeMoEResult {
  /** A new layer with G expert FFNs, the same router, and `expertMap` = group labels. */
  layer: MoEFeedForward;
  groups: ExpertGroups;
  usage: Float64Array;
}

/**
 * MC-SMoE's merge step on a trained layer: usage and router-logit similarity
 * on calibration tokens `x`, routing-guided grouping into `numGroups`, neuron
 * alignment and usage-weighted averaging. The router is kept, so a token
 * routed to any member of a group is served by the merged expert.
 * `layer` is left unchanged.
 */
export function mergeMoE(layer: MoEFeedForward, x: tf.Tensor, opts: MergeMoEOptions): MergeMoEResult {
  if (layer.options.expertMap) throw new ShapeError("mergeMoE layer (already merged)", ["identity expert map"], [layer.experts.numExperts]);
  const stats = routingStatistics(layer, x);
  const groups = groupExpertsByRouting(stats.usage, routerLogitSimilarity(stats.logits), opts.numGroups);
  const merged = mergeExpertGroups(readExperts(layer.experts), stats.usage, groups, { align: opts.align });
  const out = new MoEFeedForward(layer.dModel, { ...layer.options, expertMap: Array.from(groups.labels) });
  // Router (and shared expert) carried over; the expert FFNs are written next.
  out.loadStateDict(new Map(layer.namedParameters().filter(([n]) => !n.startsWith("experts."))), { strict: false });
  writeExperts(out.experts, merged);
  out.train(layer.training);
  return { layer: out, groups, usage: stats.usage };
}

/** Options of `compressMoE`. */
export interface CompressMoEOptions {
  /** Rank of the low-rank part of every expert matrix. */
  rank: number;
  /** Share of residual entries kept as the sparse part. Default 0. */
  sparseFraction?: number;
}

/** What `compressMoE` reports. */
export interface CompressMoEReport {
  /** Expert scalars before (dense storage). */
  expertParamsBefore: number;
  /** Expert scalars in low-rank + sparse storage (`r(m+n)` + kept entries + biases). */
  expertParamsAfter: number;
  /** Relative Frobenius error of each compressed matrix, expert-major (`w_up`, [`w_gate`], `w_down`). */
  relativeErrors: number[];
}

/**
 * MC-SMoE's compress step: every expert matrix becomes low rank plus sparse
 * (`lowRankPlusSparse`). The layer's weights are replaced in place by the
 * reconstructions `U·V + S`, so it computes what the factored layer would;
 * the report counts the scalars the factored storage needs.
 */
export function compressMoE(layer: MoEFeedForward, opts: CompressMoEOptions): CompressMoEReport {
  const experts = readExperts(layer.experts);
  const relativeErrors: number[] = [];
  let before = 0;
  let after = 0;
  const squeeze = (m: Matrix): Matrix => {
    const c = lowRankPlusSparse(m, { rank: opts.rank, sparseFraction: opts.sparseFraction });
    relativeErrors.push(compressionError(m, c));
    after += lowRankSparseParameterCount(c);
    return reconstructLowRankSparse(c);
  };
  const compressed = experts.map((e) => {
    before += expertParameterCount(e);
    after += (e.bUp?.length ?? 0) + (e.bDown?.length ?? 0);
    const out: ExpertWeights = { ...e, wUp: squeeze(e.wUp) };
    if (e.wGate) out.wGate = squeeze(e.wGate);
    out.wDown = squeeze(e.wDown);
    return out;
  });
  writeExperts(layer.experts, compressed);
  return { expertParamsBefore: before, expertParamsAfter: after, relativeErrors };
}
