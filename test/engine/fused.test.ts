import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { geluExact } from "../../src/engine/fused.js";

beforeAll(async () => {
  await initBackend();
});

describe("exact GELU as one fused kernel (wasm)", () => {
  const composite = (t: tf.Tensor): tf.Tensor => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));

  it("matches the erf composite x·Φ(x) and its gradient to float32 rounding", () => {
    // A dense grid through both tails and the sign change, plus exact zeros and subnormals.
    const grid = Array.from({ length: 24001 }, (_, i) => -12 + i / 1000);
    const x = tf.tensor1d([...grid, 0, -0, 1e-40, -1e-40, 1e-30, -1e-30, 30, -30]);
    const before = tf.memory().numTensors;
    const xs = x.dataSync();
    const got = tf.tidy(() => geluExact(x).dataSync());
    const want = tf.tidy(() => composite(x).dataSync());
    // The composite rounds 1 + erf in float32, so it is the less exact of the two (see the
    // kernel's comment); both agree to a few ulps of max(1, |x|).
    const worst = (a: ArrayLike<number>, b: ArrayLike<number>, tol: (i: number) => number): number =>
      Math.max(...Array.from(xs, (_, i) => Math.abs(a[i]! - b[i]!) / tol(i)));
    expect(worst(got, want, (i) => 1.2e-7 * Math.max(1, Math.abs(xs[i]!)))).toBeLessThanOrEqual(1);
    expect(got[grid.length]).toBe(0);
    // Each element's gradient, dy = 1, against autodiff through the composite.
    const gotD = tf.tidy(() => tf.grad((t: tf.Tensor) => geluExact(t))(x).dataSync());
    const wantD = tf.tidy(() => tf.grad(composite)(x).dataSync());
    expect(worst(gotD, wantD, () => 2e-7)).toBeLessThanOrEqual(1);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it("chains the upstream gradient and matches finite differences inside a larger graph", () => {
    const x = tf.randomNormal([8, 300], 0, 2, "float32", 7);
    const w = tf.randomNormal([8, 300], 0, 1, "float32", 8);
    const loss = (f: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.square(f(t)), w));
    const before = tf.memory().numTensors;
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.grad(loss(geluExact))(x), tf.grad(loss(composite))(x)))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-5);
    // The backward pass against central differences of the fused forward itself.
    const [xs, ws] = [x.dataSync(), w.dataSync()];
    const g = tf.tidy(() => tf.grad(loss(geluExact))(x).dataSync());
    const gelu1 = (v: number): number => tf.tidy(() => geluExact(tf.tensor1d([v])).dataSync()[0]!);
    for (const i of [0, 17, 599, 1234, 2399]) {
      const h = 1e-2;
      const fd = ((gelu1(xs[i]! + h) ** 2 - gelu1(xs[i]! - h) ** 2) / (2 * h)) * ws[i]!;
      expect(Math.abs(g[i]! - fd)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });

  it("keeps nothing for a backward pass when no gradient is taken", () => {
    const x = tf.randomNormal([64, 32], 0, 1, "float32", 9);
    const before = tf.memory().numTensors;
    tf.dispose(geluExact(x));
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
  ] as const)("%s matches the op-by-op float32 update to a few ulps over several steps", async (_name, wd) => {
    const { adamStepFused } = await import("../../src/engine/fused.js");
    const before = tf.memory().numTensors;
    let fused = [tf.randomNormal([37, 29], 0, 1, "float32", 21), tf.zeros([37, 29]), tf.zeros([37, 29])];
    for (let step = 1; step <= 5; step++) {
      // Gradients spanning many magnitudes, zeros included.
      const g = tf.tidy(() => tf.mul(tf.randomNormal([37, 29], 0, 1, "float32", 30 + step), tf.pow(10, tf.randomUniform([37, 29], -6, 2, "float32", 40 + step).floor())));
      const attrs = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, step, ...wd };
      // Both updates from the same state each step, so differences cannot compound.
      const f = adamStepFused(fused[0]!, g, fused[1]!, fused[2]!, attrs)!;
      const o = opStep(fused[0]!, g, fused[1]!, fused[2]!, attrs);
      // The fused kernel rounds once per stored value, the ops once per operation, so they differ by
      // a few ulps of the terms each op rounds (more than an ulp of the result where m's two terms cancel).
      const [p0, m0, v0] = fused.map((t) => t.dataSync());
      const gv = g.dataSync();
      const [b1, b2] = [attrs.beta1, attrs.beta2];
      const l2 = attrs.decoupled ? 0 : attrs.weightDecay;
      const gAbs = (i: number): number => Math.abs(gv[i]!) + Math.abs(p0[i]! * l2); // Adam's L2 term joins the gradient
      const scale = [
        (i: number) => Math.abs(p0[i]!) + attrs.lr * 10, // p and a step of at most ~lr·|m̂/√v̂|
        (i: number) => Math.abs(m0[i]! * b1) + gAbs(i) * (1 - b1),
        (i: number) => Math.abs(v0[i]! * b2) + gAbs(i) ** 2 * (1 - b2),
      ];
      for (let k = 0; k < 3; k++) {
        const want = o[k]!.dataSync();
        const got = f[k]!.dataSync();
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(8 * 2 ** -24 * scale[k]!(i) + 1e-12);
      }
      tf.dispose([...fused, ...o, g]);
      fused = f;
    }
    // The parameter moved: the comparison is not between two untouched copies.
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(fused[0]!, tf.randomNormal([37, 29], 0, 1, "float32", 21)))).dataSync()[0]!)).toBeGreaterThan(1e-3);
    tf.dispose(fused);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    ["AdamW", { weightDecay: 0.1, decoupled: true }],
    ["Adam with L2", { weightDecay: 0.05, decoupled: false }],
  ] as const)("%s equals its float64 formula rounded once per value, bit for bit (SIMD blocks and the JS tail)", async (_name, wd) => {
    const { adamStepFused } = await import("../../src/engine/fused.js");
    const n = 4 * 50 + 3;
    const t = (seed: number, scale: number): tf.Tensor =>
      tf.tidy(() => tf.mul(tf.randomNormal([n], 0, scale, "float32", seed), tf.pow(10, tf.randomUniform([n], -6, 2, "float32", seed + 1).floor())));
    const [p, g, m] = [t(51, 1), t(53, 1), t(55, 0.1)];
    const v = tf.tidy(() => tf.square(t(57, 0.1)));
    const a = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, step: 3, ...wd };
    const out = adamStepFused(p, g, m, v, a)!;
    const [pv, gv, mv, vv] = [p, g, m, v].map((x) => x.dataSync());
    const decay = a.decoupled ? 1 - a.lr * a.weightDecay : 1;
    const l2 = a.decoupled ? 0 : a.weightDecay;
    const want = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    for (let i = 0; i < n; i++) {
      const gi = gv[i]! + pv[i]! * l2;
      const mi = mv[i]! * a.beta1 + gi * (1 - a.beta1);
      const vi = vv[i]! * a.beta2 + gi * gi * (1 - a.beta2);
      want[1]![i] = mi;
      want[2]![i] = vi;
      want[0]![i] = pv[i]! * decay - (mi / (Math.sqrt(vi) * (1 / Math.sqrt(1 - a.beta2 ** a.step)) + a.eps)) * (a.lr / (1 - a.beta1 ** a.step));
    }
    out.forEach((x, k) => expect(Array.from(x.dataSync())).toEqual(Array.from(want[k]!)));
    tf.dispose([p, g, m, v, ...out]);
  });
});
