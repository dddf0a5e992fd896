import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { geluExact } from "../../src/engine/fused.js";

beforeAll(async () => {
  await initBackend();
});

describe("exact GELU with a fused backward (wasm)", () => {
  it("matches the composite x·Φ(x) and its gradient", () => {
    const x = tf.randomNormal([1000], 0, 3, "float32", 7);
    const composite = (t: tf.Tensor): tf.Tensor => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
    const fused = (t: tf.Tensor): tf.Tensor => geluExact(t);
    const before = tf.memory().numTensors;
    const diff = (f: (t: tf.Tensor) => tf.Tensor, g: (t: tf.Tensor) => tf.Tensor): number =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(f(x), g(x)))).dataSync()[0]!);
    expect(diff(fused, composite)).toBeLessThan(2e-6);
    const grad = (f: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor): tf.Tensor => tf.grad((u: tf.Tensor) => tf.sum(tf.mul(f(u), u)))(t);
    expect(diff(grad(fused), grad(composite))).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe("LayerNorm with a fused backward (wasm)", () => {
  it("matches the composite form in value and gradients, and frees everything in inference", async () => {
    const { layerNormAffine } = await import("../../src/engine/fused.js");
    const x = tf.randomNormal([6, 5, 16], 0, 2, "float32", 11);
    const w = tf.randomNormal([16], 1, 0.3, "float32", 12);
    const b = tf.randomNormal([16], 0, 0.3, "float32", 13);
    const before = tf.memory().numTensors;
    tf.dispose(layerNormAffine(x, w, b, 1e-5));
    expect(tf.memory().numTensors).toBe(before);
    const composite = (a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor): tf.Tensor => {
      const { mean, variance } = tf.moments(a, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(a, mean), tf.rsqrt(tf.add(variance, 1e-5))), ww), bb);
    };
    const cot = tf.randomNormal([6, 5, 16], 0, 1, "float32", 14);
    const grads = (f: typeof composite): tf.Tensor[] => tf.grads((a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(a, ww, bb), cot)))([x, w, b]);
    const want = grads(composite);
    const got = grads((a, ww, bb) => layerNormAffine(a, ww, bb, 1e-5));
    want.forEach((t, i) => expect(tf.max(tf.abs(tf.sub(t, got[i]!))).dataSync()[0]).toBeLessThan(1e-5));
  });
});
