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

describe("fused Adam step (wasm)", () => {
  // The op-by-op update the optimiser used before fusing (and still uses off wasm).
  function opStep(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: import("../../src/engine/fused.js").AdamStepAttrs): tf.Tensor[] {
    return tf.tidy(() => {
      let pp = p;
      let gg = g;
      if (a.weightDecay) {
        if (a.decoupled) pp = tf.mul(p, 1 - a.lr * a.weightDecay);
        else gg = tf.add(g, tf.mul(p, a.weightDecay));
      }
      const m2 = tf.add(tf.mul(m, a.beta1), tf.mul(gg, 1 - a.beta1));
      const v2 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(gg), 1 - a.beta2));
      const denom = tf.add(tf.div(tf.sqrt(v2), Math.sqrt(1 - a.beta2 ** a.step)), a.eps);
      return [tf.sub(pp, tf.mul(tf.div(m2, denom), a.lr / (1 - a.beta1 ** a.step))), m2, v2];
    });
  }

  it.each([
    ["AdamW", { weightDecay: 0.1, decoupled: true }],
    ["Adam with L2", { weightDecay: 0.05, decoupled: false }],
    ["Adam", { weightDecay: 0, decoupled: false }],
  ] as const)("%s matches the op-by-op update to the last float32 bits over several steps", async (_name, wd) => {
    const { adamStepFused } = await import("../../src/engine/fused.js");
    const before = tf.memory().numTensors;
    let fused = [tf.randomNormal([37, 29], 0, 1, "float32", 21), tf.zeros([37, 29]), tf.zeros([37, 29])];
    let ops = fused.map((t) => t.clone());
    for (let step = 1; step <= 5; step++) {
      // Gradients spanning many magnitudes, zeros included.
      const g = tf.tidy(() => tf.mul(tf.randomNormal([37, 29], 0, 1, "float32", 30 + step), tf.pow(10, tf.randomUniform([37, 29], -6, 2, "float32", 40 + step).floor())));
      const attrs = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, step, ...wd };
      const f = adamStepFused(fused[0]!, g, fused[1]!, fused[2]!, attrs)!;
      const o = opStep(ops[0]!, g, ops[1]!, ops[2]!, attrs);
      tf.dispose([...fused, ...ops, g]);
      fused = f;
      ops = o;
      // Same float32 operations in the same order, but tfjs's wasm kernels may round an intermediate
      // differently by an ulp; 5e-10 is 2 ulp of the step (lr = 3e-3), seen where p − step cancels.
      for (let k = 0; k < 3; k++) {
        const want = ops[k]!.dataSync();
        const got = fused[k]!.dataSync();
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(2e-6 * Math.abs(want[i]!) + 5e-10);
      }
    }
    // The parameter moved: the comparison is not between two untouched copies.
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(fused[0]!, tf.randomNormal([37, 29], 0, 1, "float32", 21)))).dataSync()[0]!)).toBeGreaterThan(1e-3);
    tf.dispose([...fused, ...ops]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
