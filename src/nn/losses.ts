import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../errors.js";

/**
 * Mean cross-entropy of `logits` `[batch, classes]` against int32 class
 * indices `labels` `[batch]`, as `torch.nn.functional.cross_entropy` with
 * the default mean reduction (computed through log-softmax for stability).
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new ShapeError("crossEntropy logits/labels", ["batch", "classes"], [...logits.shape, ...labels.shape]);
  }
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, "int32"), logits.shape[1]!);
    return tf.neg(tf.mean(tf.sum(tf.mul(logp, onehot), 1))) as tf.Scalar;
  });
}

/** Mean squared error between two tensors of the same shape (`torch.nn.functional.mse_loss`). */
export function mseLoss(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  if (pred.shape.join() !== target.shape.join()) throw new ShapeError("mseLoss target", pred.shape, target.shape);
  return tf.tidy(() => tf.mean(tf.square(tf.sub(pred, target))) as tf.Scalar);
}
