import * as tf from "@tensorflow/tfjs";
import { ValueError } from "../errors.js";
import { rng } from "../engine/random.js";
import { Module } from "./module.js";

/**
 * Inverted dropout with the seeded random source: `x · mask / (1 − p)`.
 * Returns `x` itself when `p = 0` or not training (as PyTorch; saves a copy).
 */
export function dropout(x: tf.Tensor, p: number, training: boolean): tf.Tensor {
  if (p < 0 || p >= 1) throw new ValueError(`dropout probability must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const keep = new Float32Array(x.size);
  const r = rng();
  const scale = 1 / (1 - p);
  for (let i = 0; i < keep.length; i++) keep[i] = r.uniform() >= p ? scale : 0;
  return tf.tidy(() => tf.mul(x, tf.tensor(keep, x.shape)));
}

/** `torch.nn.Dropout(p)`: active only in training mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p >= 1) throw new ValueError(`dropout probability must be in [0, 1), got ${p}`);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return dropout(x, this.p, this.training);
  }
}
