import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { crossEntropy, mseLoss } from "../../src/nn/losses.js";
import { ShapeError } from "../../src/errors.js";

beforeAll(async () => {
  await initBackend();
});

describe("losses", () => {
  it("cross-entropy equals −mean log softmax at the label, stable for large logits", () => {
    const logits = [[2, 0.5, -1], [1000, 0, 0], [0, 0, 0]];
    const labels = [0, 1, 2];
    const expected =
      -(
        (2 - Math.log(Math.exp(2) + Math.exp(0.5) + Math.exp(-1))) +
        (0 - (1000 + Math.log(1 + 2 * Math.exp(-1000)))) +
        -Math.log(3)
      ) / 3;
    const v = tf.tidy(() => crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, "int32")).dataSync()[0]!);
    expect(v).toBeCloseTo(expected, 3);
    // Gradient w.r.t. logits is (softmax − onehot)/batch.
    const g = tf.tidy(() => tf.grad((l: tf.Tensor) => crossEntropy(l, tf.tensor1d([1], "int32")))(tf.tensor2d([[0, 0]])).dataSync());
    expect(Array.from(g)).toEqual([0.5, -0.5]);
  });

  it("mse and shape checks", () => {
    expect(tf.tidy(() => mseLoss(tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 0, 3])).dataSync()[0])).toBeCloseTo(4 / 3, 6);
    expect(() => crossEntropy(tf.zeros([2, 3]), tf.zeros([3], "int32"))).toThrow(ShapeError);
    expect(() => mseLoss(tf.zeros([2]), tf.zeros([3]))).toThrow(ShapeError);
  });
});
