import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { scaledDotProductAttention } from "../../src/nn/attention.js";
import { MixtureOfAttentionHeads } from "../../src/moe/moa.js";
import { collectMoEAux } from "../../src/moe/aux.js";
import { ConfigError } from "../../src/errors.js";

beforeAll(async () => {
  await initBackend();
});

/**
 * Dense-masked oracle: every expert's queries for every token, selected by
 * one-hot masks per choice j; each choice attends with its H_kv heads against
 * the shared K/V; each choice's output goes through its expert's W_o.
 */
function oracle(m: MixtureOfAttentionHeads, x: tf.Tensor3D): tf.Tensor {
  return tf.tidy(() => {
    const [b, l, d] = x.shape;
    const { numKvHeads: hk, headDim: hd } = m;
    const e = m.router.numExperts;
    const k = m.router.topK;
    const xs = tf.reshape(x, [b * l, d]);
    const r = m.router.call(xs);
    const mask = tf.oneHot(r.indices, e).toFloat(); // [T, k, E]
    const qAll = tf.matMul(tf.tile(tf.expandDims(xs, 0), [e, 1, 1]), m.experts.wQ); // [E, T, P]
    const kv = tf.reshape(m.kvProj.call(x), [b, l, 2, hk, hd]);
    const keys = tf.transpose(tf.squeeze(tf.slice(kv, [0, 0, 0, 0, 0], [b, l, 1, hk, hd]), [2]), [0, 2, 1, 3]);
    const values = tf.transpose(tf.squeeze(tf.slice(kv, [0, 0, 1, 0, 0], [b, l, 1, hk, hd]), [2]), [0, 2, 1, 3]);
    let y = tf.zeros([b * l, d]);
    for (let j = 0; j < k; j++) {
      const mj = tf.squeeze(tf.slice(mask, [0, j, 0], [b * l, 1, e]), [1]); // [T, E]
      const qj = tf.sum(tf.mul(tf.expandDims(tf.transpose(mj), 2), qAll), 0); // [T, P]
      const heads = tf.transpose(tf.reshape(qj, [b, l, hk, hd]), [0, 2, 1, 3]);
      const o = tf.reshape(tf.transpose(scaledDotProductAttention(heads, keys, values, { causal: m.causal }), [0, 2, 1, 3]), [b * l, hk * hd]);
      const oAll = tf.matMul(tf.tile(tf.expandDims(o, 0), [e, 1, 1]), m.experts.wO); // [E, T, d]
      const outj = tf.sum(tf.mul(tf.expandDims(tf.transpose(mj), 2), oAll), 0);
      const gj = tf.slice(r.gates, [0, j], [b * l, 1]);
      y = tf.add(y, tf.mul(outj, gj));
    }
    return tf.reshape(tf.add(y, m.bias!), [b, l, d]);
  });
}

describe("MixtureOfAttentionHeads (JetMoE MoA)", () => {
  it("equals the dense-masked oracle in output and in gradients of every parameter", () => {
    manualSeed(51);
    const m = new MixtureOfAttentionHeads(8, { experts: 4, topK: 2, numKvHeads: 2, headDim: 3 });
    m.bias!.assign(tf.randomNormal([8], 0, 0.1, "float32", 1));
    const x = tf.randomNormal([2, 5, 8], 0, 1, "float32", 2) as tf.Tensor3D;
    const r = tf.randomNormal([2, 5, 8], 0, 1, "float32", 3);
    const before = tf.memory().numTensors;
    const fast = tf.variableGrads(() => tf.sum(tf.mul(m.call(x), r)) as tf.Scalar, m.parameters());
    const slow = tf.variableGrads(() => tf.sum(tf.mul(oracle(m, x), r)) as tf.Scalar, m.parameters());
    expect(Math.abs(fast.value.dataSync()[0]! - slow.value.dataSync()[0]!)).toBeLessThan(1e-4);
    for (const p of m.parameters()) {
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(fast.grads[p.name]!, slow.grads[p.name]!))).dataSync()[0]!);
      const scale = tf.tidy(() => tf.max(tf.abs(slow.grads[p.name]!)).dataSync()[0]!);
      expect(diff).toBeLessThan(1e-4 * (1 + scale));
      expect(scale).toBeGreaterThan(0);
    }
    tf.dispose([fast.value, slow.value, ...Object.values(fast.grads), ...Object.values(slow.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, r]);
    m.dispose();
  });
  it("is causal: changing later tokens leaves earlier outputs unchanged", () => {
    manualSeed(52);
    const m = new MixtureOfAttentionHeads(8, { experts: 3, topK: 1, numKvHeads: 2, headDim: 4 });
    const x = tf.randomNormal([1, 6, 8], 0, 1, "float32", 4);
    const x2 = tf.concat([tf.slice(x, [0, 0, 0], [1, 3, 8]), tf.randomNormal([1, 3, 8], 0, 1, "float32", 5)], 1);
    tf.tidy(() => {
      const a = tf.slice(m.call(x), [0, 0, 0], [1, 3, 8]);
      const c = tf.slice(m.call(x2), [0, 0, 0], [1, 3, 8]);
      expect(tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]).toBeLessThan(1e-6);
      const { result, loss, layers } = collectMoEAux(m, () => m.call(x));
      expect(layers[0]!.routed.reduce((s, v) => s + v, 0)).toBe(6);
      expect(loss.dataSync()[0]).toBeGreaterThan(0);
      expect(result.shape).toEqual([1, 6, 8]);
    });
    tf.dispose([x, x2]);
    m.dispose();
  });
  it("rejects bad head settings", () => {
    expect(() => new MixtureOfAttentionHeads(8, { experts: 3, numKvHeads: 0, headDim: 4 })).toThrow(ConfigError);
  });
});
