import * as tf from "@tensorflow/tfjs";
import { dropout } from "./dropout.js";
import { activation, silu, type ActivationName } from "./functional.js";
import { Linear } from "./linear.js";
import { Module } from "./module.js";

/** Options of `FeedForward`. */
export interface FeedForwardOptions {
  /** Activation between the two layers (default `"gelu"`). */
  activation?: ActivationName;
  /** Dropout after the activation and after the output, in training (default 0). */
  dropout?: number;
  /** Biases (default true). */
  bias?: boolean;
}

/**
 * Position-wise MLP `fc2(drop(act(fc1(x))))` with timm's parameter names
 * (`fc1` dim→hidden, `fc2` hidden→outDim).
 */
export class FeedForward extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly act: (x: tf.Tensor) => tf.Tensor;
  private readonly p: number;
  constructor(readonly dim: number, readonly hidden: number, opts: FeedForwardOptions & { outDim?: number } = {}) {
    super();
    this.fc1 = this.registerModule("fc1", new Linear(dim, hidden, { bias: opts.bias ?? true }));
    this.fc2 = this.registerModule("fc2", new Linear(hidden, opts.outDim ?? dim, { bias: opts.bias ?? true }));
    this.act = activation(opts.activation ?? "gelu");
    this.p = opts.dropout ?? 0;
  }
  /** @param x [..., dim] → [..., outDim] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = dropout(this.act(this.fc1.call(x)), this.p, this.training);
      return dropout(this.fc2.call(h), this.p, this.training);
    });
  }
}

/**
 * SwiGLU feed-forward `w2(silu(w1·x) ⊙ w3·x)` with LLaMA's names
 * (`w1` gate dim→hidden, `w3` up dim→hidden, `w2` down hidden→dim), no biases by default.
 */
export class SwiGLU extends Module {
  readonly w1: Linear;
  readonly w2: Linear;
  readonly w3: Linear;
  constructor(readonly dim: number, readonly hidden: number, opts: { bias?: boolean } = {}) {
    super();
    const bias = opts.bias ?? false;
    this.w1 = this.registerModule("w1", new Linear(dim, hidden, { bias }));
    this.w2 = this.registerModule("w2", new Linear(hidden, dim, { bias }));
    this.w3 = this.registerModule("w3", new Linear(dim, hidden, { bias }));
  }
  /** @param x [..., dim] → [..., dim] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.w2.call(tf.mul(silu(this.w1.call(x)), this.w3.call(x))));
  }
}
