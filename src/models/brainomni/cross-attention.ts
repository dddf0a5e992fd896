import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../../errors.js";
import { Module } from "../../nn/module.js";
import { InferenceLinear } from "./derived.js";

/**
 * Multi-head scaled dot-product attention without masks or dropout, heads
 * taken as contiguous D/H slices (as the official `rearrange(... (h d))`).
 *
 * @param q [G, Lq, D] @param k [G, Lk, D] @param v [G, Lk, D] → [G, Lq, D]
 */
export function multiHeadAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, nHead: number): tf.Tensor {
  const [G, Lq, D] = q.shape as [number, number, number];
  const Lk = k.shape[1]!;
  const dh = D / nHead;
  return tf.tidy(() => {
    const split = (t: tf.Tensor, L: number): tf.Tensor => t.reshape([G, L, nHead, dh]).transpose([0, 2, 1, 3]).reshape([G * nHead, L, dh]);
    const qh = split(q, Lq);
    const kh = split(k, Lk);
    const vh = split(v, Lk);
    const att = tf.softmax(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(dh)));
    return tf.matMul(att, vh).reshape([G, nHead, Lq, dh]).transpose([0, 2, 1, 3]).reshape([G, Lq, D]);
  });
}

/**
 * The queries [P, D] as a block-diagonal matrix [D, H·P]: head h's slice
 * qₕᵀ [D/H, P] at rows h·D/H, columns h·P, zeros elsewhere. keys [M, D] times
 * it gives every head's scores [M, H·P] in one product; the zeros add exact
 * zeros, so each score is the per-head dot product summed in the same order.
 */
export function blockDiagonalQueries(queries: tf.Tensor, nHead: number): tf.Tensor {
  const [P, D] = queries.shape as [number, number];
  const dh = D / nHead;
  return tf.tidy(() => {
    const heads = tf.unstack(queries.reshape([P, nHead, dh]).transpose([1, 2, 0])); // H × [dh, P]
    return tf.concat(heads.map((q, h) => tf.pad(q, [[0, 0], [h * P, (nHead - 1 - h) * P]])), 0);
  });
}

/**
 * `multiHeadAttention` for queries shared by all G groups, given as
 * `blockDiagonalQueries` [D, H·P]: the scores of all groups and heads are one
 * product (no per-group copies of the queries, no per-head small products).
 *
 * @param qBlock [D, H·P] @param k [G, C, D] @param v [G, C, D] → [G, P, D]
 */
export function sharedQueryAttention(qBlock: tf.Tensor, k: tf.Tensor, v: tf.Tensor, nHead: number): tf.Tensor {
  const [G, C, D] = k.shape as [number, number, number];
  const P = qBlock.shape[1]! / nHead;
  const dh = D / nHead;
  return tf.tidy(() => {
    const scores = tf.matMul(k.reshape([G * C, D]), qBlock).reshape([G, C, nHead * P]).transpose([0, 2, 1]); // [G, H·P, C]
    const att = tf.softmax(tf.mul(scores, 1 / Math.sqrt(dh))).reshape([G * nHead, P, C]);
    const vh = v.reshape([G, C, nHead, dh]).transpose([0, 2, 1, 3]).reshape([G * nHead, C, dh]);
    return tf.matMul(att, vh).reshape([G, nHead, P, dh]).transpose([0, 2, 1, 3]).reshape([G, P, D]);
  });
}

/**
 * "Backward solution" (channel compression): P learned queries attend over the
 * C channels of one token. Queries enter without projection; values are
 * `v(feature)`; keys are computed by the caller (`k_proj(feature + sensor)`).
 * Parameters `v.*`, `proj.*`.
 */
export class BackwardSolution extends Module<[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor?], tf.Tensor> {
  readonly v: InferenceLinear;
  readonly proj: InferenceLinear;
  constructor(readonly dim: number, readonly nHead: number) {
    super();
    this.v = this.registerModule("v", new InferenceLinear(dim, dim));
    this.proj = this.registerModule("proj", new InferenceLinear(dim, dim));
  }

  /**
   * @param queries [P, D] @param keys [G, C, D] @param values [G, C, D] (before `v`)
   * @param queryBlock eval only: `blockDiagonalQueries(queries)` if the caller keeps it (else built here)
   * @returns [G, P, D]
   */
  forward(queries: tf.Tensor, keys: tf.Tensor, values: tf.Tensor, queryBlock?: tf.Tensor): tf.Tensor {
    if (keys.rank !== 3 || keys.shape[2] !== this.dim) throw new ShapeError("backward-solution keys", ["G", "C", this.dim], keys.shape);
    return tf.tidy(() => {
      const vals = this.v.call(values);
      if (!this.training) return this.proj.call(sharedQueryAttention(queryBlock ?? blockDiagonalQueries(queries, this.nHead), keys, vals, this.nHead));
      const q = tf.tile(queries.expandDims(0), [keys.shape[0]!, 1, 1]);
      return this.proj.call(multiHeadAttention(q, keys, vals, this.nHead));
    });
  }
}

/**
 * "Forward solution" (sensor-query decoder): each target sensor's embedding
 * queries the P quantised sources of one token. Keys and values are the two
 * halves of `kv(latent)`. Parameters `kv.*` [2D, D], `proj.*`.
 */
export class ForwardSolution extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  readonly kv: InferenceLinear;
  readonly proj: InferenceLinear;
  constructor(readonly dim: number, readonly nHead: number) {
    super();
    this.kv = this.registerModule("kv", new InferenceLinear(dim, 2 * dim));
    this.proj = this.registerModule("proj", new InferenceLinear(dim, dim));
  }
  /** @param sensorQueries [G, C, D] @param latents [G, P, D] → [G, C, D] */
  forward(sensorQueries: tf.Tensor, latents: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [k, v] = tf.split(this.kv.call(latents), 2, 2) as [tf.Tensor, tf.Tensor];
      return this.proj.call(multiHeadAttention(sensorQueries, k, v, this.nHead));
    });
  }
}
