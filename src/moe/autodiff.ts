import * as tf from "@tensorflow/tfjs";
import { topKIndices } from "./heap-kernels.js";

/**
 * `tf.customGrad` for a function of one tensor, with typed callbacks.
 * `forward` may call `save` to keep tensors for `backward` (they are kept only
 * while a gradient tape records, and freed by the backward pass).
 */
export function unaryCustomGrad(
  forward: (x: tf.Tensor, save: tf.GradSaveFunc) => tf.Tensor,
  backward: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor,
): (x: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: forward(args[0] as tf.Tensor, args[1] as tf.GradSaveFunc),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy, saved),
  }));
  return (x) => op(x);
}

/**
 * Indices of the k largest entries of each row, as an int32 tensor that
 * autodiff treats as a constant.
 *
 * tfjs registers no gradient for `TopK`, and a `TopK` node anywhere between a
 * variable and the loss makes `tf.grad` throw. Ops inside a `customGrad`
 * forward are not recorded, so running it there with a zero gradient keeps
 * it off the tape; routing gradients then flow only through the gate values,
 * as in every MoE.
 *
 * @param scores [T, E] → [T, k] int32, best first.
 */
export function constantTopK(scores: tf.Tensor, k: number): tf.Tensor2D {
  return unaryCustomGrad(
    (s) => topKIndices(s as tf.Tensor2D, k),
    () => tf.zeros(scores.shape),
  )(scores) as tf.Tensor2D;
}
