import * as tf from "@tensorflow/tfjs";

/**
 * Switch-Transformer load-balancing loss `E · Σ_e f_e · P_e` (unscaled; multiply by α,
 * 0.01 in the paper): `f_e` is the share of the T·k assignments routed to expert e
 * (a constant), `P_e` the mean router probability of e over the tokens (differentiable).
 * Equals 1 under uniform routing and E when every token goes to one expert (k = 1).
 * Sigmoid scores are normalised per token first so that P is a distribution.
 *
 * @param probs [T, E] router probabilities.
 * @param indices [T, k] int32 selected experts.
 */
export function switchAuxLoss(probs: tf.Tensor2D, indices: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [t, e] = probs.shape;
    const k = indices.shape[1];
    const f = tf.div(tf.sum(tf.oneHot(indices, e), [0, 1]), t * k);
    const p = tf.mean(tf.div(probs, tf.sum(probs, -1, true)), 0);
    return tf.mul(tf.sum(tf.mul(f, p)), e) as tf.Scalar;
  });
}

/**
 * Router z-loss (ST-MoE) `mean_t (logsumexp_e logits[t, e])²` (unscaled; β = 0.001 in
 * ST-MoE). Keeps router logits small. All-zero logits of 8 experts give (ln 8)² ≈ 4.3241.
 *
 * @param logits [T, E]
 */
export function routerZLoss(logits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.logSumExp(logits, -1))) as tf.Scalar);
}
