import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../errors.js";
import { kaimingUniformA5, uniform } from "./init.js";
import { Module } from "./module.js";

/** Options of `Linear`. */
export interface LinearOptions {
  /** Add a learned bias (default true). */
  bias?: boolean;
}

/**
 * `y = x·Wᵀ + b` over the last axis, as `torch.nn.Linear`.
 * Parameters: `weight` [out, in] (PyTorch layout), `bias` [out].
 * Init: kaiming_uniform(a=√5) for the weight, U(±1/√in) for the bias.
 */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.weight = this.registerParameter("weight", kaimingUniformA5([outFeatures, inFeatures]))!;
    this.bias = this.registerParameter("bias", opts.bias ?? true ? uniform([outFeatures], 1 / Math.sqrt(inFeatures)) : null);
  }

  /** @param x [..., in] → [..., out] */
  forward(x: tf.Tensor): tf.Tensor {
    const d = x.shape[x.rank - 1];
    if (d !== this.inFeatures) throw new ShapeError("Linear input", ["...", this.inFeatures], x.shape);
    return tf.tidy(() => {
      const x2 = x.reshape([-1, this.inFeatures]);
      const y = tf.matMul(x2, this.weight, false, true);
      const yb = this.bias ? tf.add(y, this.bias) : y;
      return yb.reshape([...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}
