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
 * "Backward solution" (channel compression): P learned queries attend over the
 * C channels of one token. Queries enter without projection; values are
 * `v(feature)`; keys are computed by the caller (`k_proj(feature + sensor)`).
 * Parameters `v.*`, `proj.*`.
 */
export class BackwardSolution extends Module<[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor> {
  readonly v: InferenceLinear;
  readonly proj: InferenceLinear;
  constructor(readonly dim: number, readonly nHead: number) {
    super();
    this.v = this.registerModule("v", new InferenceLinear(dim, dim));
    this.proj = this.registerModule("proj", new InferenceLinear(dim, dim));
  }
  /** @param queries [P, D] @param keys [G, C, D] @param values [G, C, D] (before `v`) → [G, P, D] */
  forward(queries: tf.Tensor, keys: tf.Tensor, values: tf.Tensor): tf.Tensor {
    if (keys.rank !== 3 || keys.shape[2] !== this.dim) throw new ShapeError("backward-solution keys", ["G", "C", this.dim], keys.shape);
    return tf.tidy(() => {
      const G = keys.shape[0]!;
      const q = tf.tile(queries.expandDims(0), [G, 1, 1]);
      return this.proj.call(multiHeadAttention(q, keys, this.v.call(values), this.nHead));
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
