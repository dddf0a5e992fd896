import * as tf from "@tensorflow/tfjs";

/**
 * `tf.gather(table, ids)` along axis 0 with a gradient that works on every
 * backend. The stock gradient of `gather` needs the `UnsortedSegmentSum`
 * kernel, which the wasm backend lacks; here the backward pass scatter-adds
 * the rows of `dy` on the host (exact, O(ids × width)).
 *
 * @param table [rows, ...rest] float32
 * @param ids int32 indices of any shape, each in [0, rows)
 * @returns [...ids.shape, ...rest]
 */
export function gatherRows(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const rest = table.shape.slice(1);
  const width = rest.reduce((a, b) => a * b, 1);
  // Host copy: the backward pass runs after the caller may have disposed `ids`.
  const idx = Int32Array.from(ids.dataSync());
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    const value = tf.tidy(() => tf.gather(t, tf.tensor1d(idx, "int32")));
    const gradFunc = (dy: tf.Tensor): tf.Tensor => {
      const g = dy.dataSync();
      const out = new Float32Array(table.shape[0]! * width);
      for (let r = 0; r < idx.length; r++) {
        const dst = idx[r]! * width;
        const src = r * width;
        for (let j = 0; j < width; j++) out[dst + j] += g[src + j]!;
      }
      return tf.tensor(out, table.shape);
    };
    return { value, gradFunc };
  });
  const out = op(table) as tf.Tensor;
  const shaped = out.reshape([...ids.shape, ...rest]);
  out.dispose();
  return shaped;
}
