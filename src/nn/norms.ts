import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../errors.js";
import { layerNormAffine } from "../engine/fused.js";
import { Module } from "./module.js";

/** Options of `LayerNorm` and `RMSNorm`. */
export interface NormOptions {
  /** Added to the variance (default 1e-5 for LayerNorm, 1e-6 for RMSNorm). */
  eps?: number;
  /** Learn a per-feature scale `weight` (and `bias` for LayerNorm); default true. */
  elementwiseAffine?: boolean;
  /** LayerNorm only: learn a `bias` (default true). */
  bias?: boolean;
}

/**
 * Normalises the last axis to zero mean and unit (biased) variance, as
 * `torch.nn.LayerNorm(dim)`. Parameters `weight` (ones), `bias` (zeros), [dim].
 */
export class LayerNorm extends Module {
  readonly eps: number;
  readonly weight: tf.Variable | null;
  readonly bias: tf.Variable | null;
  constructor(readonly dim: number, opts: NormOptions = {}) {
    super();
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = this.registerParameter("weight", affine ? tf.ones([dim]) : null);
    this.bias = this.registerParameter("bias", affine && (opts.bias ?? true) ? tf.zeros([dim]) : null);
  }

  /** @param x [..., dim] → same shape */
  forward(x: tf.Tensor): tf.Tensor {
    checkLast("LayerNorm input", x, this.dim);
    if (this.weight && this.bias) return layerNormAffine(x, this.weight, this.bias, this.eps);
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      if (this.weight) y = tf.mul(y, this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }
}

/**
 * Root-mean-square norm over the last axis: `x / √(mean(x²) + eps) · weight`,
 * as `torch.nn.RMSNorm` (and the LLaMA/BrainOmni RMSNorm). Parameter `weight` [dim], ones.
 */
export class RMSNorm extends Module {
  readonly eps: number;
  readonly weight: tf.Variable | null;
  constructor(readonly dim: number, opts: NormOptions = {}) {
    super();
    this.eps = opts.eps ?? 1e-6;
    this.weight = this.registerParameter("weight", opts.elementwiseAffine ?? true ? tf.ones([dim]) : null);
  }

  /** @param x [..., dim] → same shape */
  forward(x: tf.Tensor): tf.Tensor {
    checkLast("RMSNorm input", x, this.dim);
    return tf.tidy(() => {
      const y = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.eps)));
      return this.weight ? tf.mul(y, this.weight) : y;
    });
  }
}

/** Options of `BatchNorm1d`. */
export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running averages (default 0.1). */
  momentum?: number;
  /** Learn `weight` and `bias` (default true). */
  affine?: boolean;
}

/**
 * Batch normalisation over channels of [N, C] or [N, C, L] inputs, as
 * `torch.nn.BatchNorm1d`: batch statistics in training (running averages
 * updated with the unbiased variance), running statistics in eval.
 * Parameters `weight`, `bias` [C]; buffers `running_mean`, `running_var` [C],
 * `num_batches_tracked` (scalar int).
 */
export class BatchNorm1d extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly weight: tf.Variable | null;
  readonly bias: tf.Variable | null;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;
  constructor(readonly numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    this.weight = this.registerParameter("weight", affine ? tf.ones([numFeatures]) : null);
    this.bias = this.registerParameter("bias", affine ? tf.zeros([numFeatures]) : null);
    this.runningMean = this.registerBuffer("running_mean", tf.zeros([numFeatures]));
    this.runningVar = this.registerBuffer("running_var", tf.ones([numFeatures]));
    this.numBatchesTracked = this.registerBuffer("num_batches_tracked", tf.scalar(0, "int32"));
  }

  /** @param x [N, C] or [N, C, L] → same shape */
  forward(x: tf.Tensor): tf.Tensor {
    if ((x.rank !== 2 && x.rank !== 3) || x.shape[1] !== this.numFeatures) {
      throw new ShapeError("BatchNorm1d input", ["N", this.numFeatures, "(L)"], x.shape);
    }
    const axes = x.rank === 2 ? [0] : [0, 2];
    const bshape = x.rank === 2 ? [1, this.numFeatures] : [1, this.numFeatures, 1];
    return tf.tidy(() => {
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (this.training) {
        ({ mean, variance } = tf.moments(x, axes));
        const n = x.size / this.numFeatures;
        const m = this.momentum;
        // Running statistics are assigned state; they never reach the loss, so get no gradient.
        const unbiased = tf.mul(variance, n / Math.max(n - 1, 1));
        this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
        this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
        this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, "int32")));
      } else {
        mean = this.runningMean;
        variance = this.runningVar;
      }
      let y = tf.mul(tf.sub(x, mean.reshape(bshape)), tf.rsqrt(tf.add(variance, this.eps)).reshape(bshape));
      if (this.weight) y = tf.mul(y, this.weight.reshape(bshape));
      if (this.bias) y = tf.add(y, this.bias.reshape(bshape));
      return y;
    });
  }
}

function checkLast(what: string, x: tf.Tensor, dim: number): void {
  if (x.shape[x.rank - 1] !== dim) throw new ShapeError(what, ["...", dim], x.shape);
}
