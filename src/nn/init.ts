import * as tf from "@tensorflow/tfjs";
import { rng } from "../engine/random.js";

/*
 * Initialisers with PyTorch's formulas, drawing from neurocode's seeded source
 * (so values match PyTorch in distribution, not bit for bit).
 */

/** Uniform in [-bound, bound). */
export function uniform(shape: number[], bound: number): tf.Tensor {
  return tf.tensor(rng().uniformArray(sizeOf(shape), -bound, bound), shape);
}

/** Normal N(mean, std²). */
export function normal(shape: number[], std = 1, mean = 0): tf.Tensor {
  return tf.tensor(rng().normalArray(sizeOf(shape), mean, std), shape);
}

/** `torch.nn.init.trunc_normal_(std=std)`: normal truncated to [a, b] (absolute bounds). */
export function truncNormal(shape: number[], std = 0.02, a = -2, b = 2): tf.Tensor {
  return tf.tensor(rng().truncNormalArray(sizeOf(shape), 0, std, a, b), shape);
}

/** PyTorch's fan-in of a weight: `shape[1] * prod(shape[2:])`. */
export function fanIn(shape: number[]): number {
  return (shape[1] ?? 1) * sizeOf(shape.slice(2));
}

/** PyTorch's fan-out of a weight: `shape[0] * prod(shape[2:])`. */
export function fanOut(shape: number[]): number {
  return (shape[0] ?? 1) * sizeOf(shape.slice(2));
}

/**
 * `kaiming_uniform_(w, a=√5)`, the default of `nn.Linear` and `nn.Conv*`:
 * bound = gain·√(3/fan_in) with gain = √(2/(1+a²)), i.e. 1/√fan_in.
 */
export function kaimingUniformA5(shape: number[]): tf.Tensor {
  return uniform(shape, 1 / Math.sqrt(fanIn(shape)));
}

/** `xavier_uniform_`: bound = √(6/(fan_in+fan_out)). */
export function xavierUniform(shape: number[]): tf.Tensor {
  return uniform(shape, Math.sqrt(6 / (fanIn(shape) + fanOut(shape))));
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
