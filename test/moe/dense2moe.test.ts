import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { FeedForward, SwiGLU } from "../../src/nn/mlp.js";
import { dense2moe, taylorImportance } from "../../src/moe/dense2moe.js";
import type { MoEFeedForward } from "../../src/moe/layer.js";
import { ConfigError } from "../../src/errors.js";

beforeAll(async () => {
  await initBackend();
});

/** shared(x) + Σ_e expert_e(x): the MoE with every expert active at gate 1. */
function allExperts(layer: MoEFeedForward, x: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    const e = layer.experts.numExperts;
    const routed = tf.sum(layer.experts.call(tf.tile(tf.expandDims(x, 0), [e, 1, 1]) as tf.Tensor3D), 0);
    return tf.add(routed, tf.squeeze(layer.shared!.call(tf.expandDims(x, 0) as tf.Tensor3D), [0]));
  });
}

describe("Dense2MoE", () => {
  for (const [name, make] of [
    ["FeedForward", () => new FeedForward(6, 14)],
    ["SwiGLU", () => new SwiGLU(6, 14)],
  ] as const) {
    it(`${name}: the neuron partition with every expert on equals the dense FFN`, () => {
      manualSeed(41);
      const dense = make();
      const x = tf.randomNormal([24, 6], 0, 1, "float32", 3) as tf.Tensor2D;
      const { layer, shared, groups } = dense2moe(dense, x, { experts: 4, topK: 2, sharedHidden: 2 });
      const all = [...shared, ...groups.flatMap((g) => [...g])].sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: 14 }, (_, i) => i));
      expect(groups.map((g) => g.length)).toEqual([3, 3, 3, 3]);
      tf.tidy(() => {
        expect(tf.max(tf.abs(tf.sub(allExperts(layer, x), dense.call(x)))).dataSync()[0]).toBeLessThan(1e-5);
        expect(layer.call(x).shape).toEqual([24, 6]);
      });
      x.dispose();
      layer.dispose();
      dense.dispose();
    });
  }
  it("Taylor importance is zero for a dead neuron and puts a planted strong neuron in the shared expert", () => {
    manualSeed(42);
    const dense = new FeedForward(6, 10);
    tf.tidy(() => {
      const w = dense.fc2.weight.arraySync() as number[][]; // [d, h]
      for (const row of w) {
        row[3] = 0; // neuron 3 feeds nothing
        row[7]! *= 20; // neuron 7 dominates the output
      }
      dense.fc2.weight.assign(tf.tensor2d(w));
    });
    const x = tf.randomNormal([40, 6], 0, 1, "float32", 4);
    const imp = taylorImportance(dense, x);
    expect(imp[3]).toBe(0);
    expect(Array.from(imp).indexOf(Math.max(...imp))).toBe(7);
    const { shared, layer } = dense2moe(dense, x, { experts: 3, topK: 1, sharedHidden: 1 });
    expect(Array.from(shared)).toEqual([7]);
    layer.dispose();
    expect(() => dense2moe(dense, x, { experts: 4, topK: 1, sharedHidden: 1 })).toThrow(ConfigError);
    x.dispose();
    dense.dispose();
  });
});
