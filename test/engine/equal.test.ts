import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";

beforeAll(async () => {
  await initBackend();
});

describe("Equal against a last-axis reduction (wasm kernel override)", () => {
  it("marks each row's maxima like the generic comparison, for float32 and int32, NaN never equal", () => {
    const x = tf.tensor2d([[1, 3, 3, -0], [NaN, 2, 0, -0], [5, NaN, 5, 5]]);
    const m = tf.tensor2d([[3], [0], [NaN]]);
    const eq = tf.equal(x, m);
    expect(eq.dtype).toBe("bool");
    expect(Array.from(eq.dataSync())).toEqual([0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
    const xi = tf.tensor3d([1, 2, 2, 7, 7, 1], [2, 1, 3], "int32");
    const mi = tf.tensor3d([2, 7], [2, 1, 1], "int32");
    const eqi = tf.equal(xi, mi);
    expect(Array.from(eqi.dataSync())).toEqual([0, 1, 1, 1, 1, 0]);
    // Other broadcasts still go to the stock kernel.
    const col = tf.equal(x, tf.tensor1d([1, 2, 3, 0]));
    expect(Array.from(col.dataSync())).toEqual([1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0]);
    tf.dispose([x, m, eq, xi, mi, eqi, col]);
  });

  it("keeps max's gradient (dy where x equals the row maximum)", () => {
    const x = tf.tensor2d([[1, 4, 2], [0, -1, 0]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.max(t, -1)))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 1, 0, 1, 0, 1]);
    tf.dispose([x, g]);
  });
});
