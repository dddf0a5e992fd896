import * as tf from "@tensorflow/tfjs";
import { groupedInnerProducts, groupedMatMul, segmentSum } from "../engine/grouped.js";

/**
 * Per-expert affine map on rows grouped by expert: rows `off[e] .. off[e] +
 * counts[e]` of `x` become `x_rows · w[e] + b[e]`. Differentiable w.r.t. `x`,
 * `w` and `b`, with the gradients the padded form `matMul(x[E, C, K], w) +
 * b[:, None]` gets: `dx = dy·w[e]ᵀ`, `dw[e] = x_eᵀ·dy_e`, `db[e] = Σ_rows dy_e`.
 *
 * @param x [N, K] @param w [E, K, M] @param b [E, M] or null
 * @param counts [E] rows of each expert, summing to N
 * @returns [N, M]
 */
export function groupedLinear(x: tf.Tensor2D, w: tf.Tensor3D, b: tf.Tensor2D | null, counts: readonly number[]): tf.Tensor2D {
  const grads = (dy: tf.Tensor2D, sx: tf.Tensor2D, sw: tf.Tensor3D): tf.Tensor[] => [
    groupedMatMul(dy, sw, counts, { transposeB: true }),
    groupedInnerProducts(sx, dy, counts),
  ];
  if (!b) {
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xa, wa] = args as [tf.Tensor2D, tf.Tensor3D];
      (args[2] as tf.GradSaveFunc)([xa, wa]);
      return { value: groupedMatMul(xa, wa, counts), gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => grads(dy as tf.Tensor2D, s[0] as tf.Tensor2D, s[1] as tf.Tensor3D) };
    });
    return op(x, w) as tf.Tensor2D;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xa, wa, ba] = args as [tf.Tensor2D, tf.Tensor3D, tf.Tensor2D];
    (args[3] as tf.GradSaveFunc)([xa, wa]);
    return {
      value: groupedMatMul(xa, wa, counts, { bias: ba }),
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => [...grads(dy as tf.Tensor2D, s[0] as tf.Tensor2D, s[1] as tf.Tensor3D), segmentSum(dy as tf.Tensor2D, counts)],
    };
  });
  return op(x, w, b) as tf.Tensor2D;
}
