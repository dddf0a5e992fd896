import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { AdaMoEFeedForward } from "../../src/moe/adamoe.js";
import { collectMoEAux } from "../../src/moe/aux.js";

beforeAll(async () => {
  await initBackend();
});

/** Copies expert 0 into every routed expert and the general expert, and zeroes the scale adapter. */
function identicalExperts(m: AdaMoEFeedForward): void {
  const e = m.experts.numExperts;
  tf.tidy(() => {
    for (const [v, s] of [[m.experts.wUp, m.shared!.wUp], [m.experts.wGate!, m.shared!.wGate!], [m.experts.wDown, m.shared!.wDown]] as const) {
      const first = tf.slice(v, 0, 1);
      v.assign(tf.tile(first, [e, 1, 1]));
      s.assign(first);
    }
    for (const [v, s] of [[m.experts.bUp!, m.shared!.bUp!], [m.experts.bDown!, m.shared!.bDown!]] as const) {
      const first = tf.slice(v, 0, 1);
      v.assign(tf.tile(first, [e, 1]));
      s.assign(first);
    }
    m.scaleAdapter.weight.assign(tf.zerosLike(m.scaleAdapter.weight));
  });
}

describe("AdaMoE", () => {
  it("inherits the dense function: W_scale = 0, k = E and identical experts give the general expert's output", () => {
    manualSeed(21);
    const m = new AdaMoEFeedForward(6, { experts: 4, topK: 4, hidden: 8, capacityFactor: Infinity });
    identicalExperts(m);
    const x = tf.randomNormal([10, 6], 0, 1, "float32", 1);
    tf.tidy(() => {
      const general = tf.squeeze(m.shared!.call(tf.expandDims(x, 0) as tf.Tensor3D), [0]);
      expect(tf.max(tf.abs(tf.sub(m.call(x), general))).dataSync()[0]).toBeLessThan(1e-5);
    });
    x.dispose();
    m.dispose();
  });
  it("with k < E the routed half is scaled by Σ selected P: output = ½·FFN·(1 + Σ P_sel)", () => {
    manualSeed(22);
    const m = new AdaMoEFeedForward(6, { experts: 4, topK: 1, hidden: 8, capacityFactor: Infinity });
    identicalExperts(m);
    m.router.layer.weight.assign(tf.randomNormal([4, 6], 0, 1, "float32", 3));
    const x = tf.randomNormal([10, 6], 0, 1, "float32", 2);
    tf.tidy(() => {
      const general = tf.squeeze(m.shared!.call(tf.expandDims(x, 0) as tf.Tensor3D), [0]);
      const p = tf.sum(m.router.call(x).gates, -1, true);
      const expected = tf.mul(tf.mul(general, 0.5), tf.add(p, 1));
      expect(tf.max(tf.abs(tf.sub(m.call(x), expected))).dataSync()[0]).toBeLessThan(1e-5);
    });
    x.dispose();
    m.dispose();
  });
  it("the scale adapter changes the weighting but never the selection, and receives gradients", () => {
    manualSeed(23);
    const m = new AdaMoEFeedForward(6, { experts: 4, hidden: 8, capacityFactor: Infinity });
    const x = tf.randomNormal([10, 6], 0, 1, "float32", 5);
    const before = tf.tidy(() => Array.from(m.router.call(x).indices.dataSync()));
    const y0 = m.call(x);
    m.scaleAdapter.weight.assign(tf.randomNormal([4, 6], 0, 1, "float32", 6));
    const after = tf.tidy(() => Array.from(m.router.call(x).indices.dataSync()));
    const y1 = m.call(x);
    expect(after).toEqual(before);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(y0, y1))).dataSync()[0])).toBeGreaterThan(1e-3);
    const { grads, value } = tf.variableGrads(() => {
      const { result, loss } = collectMoEAux(m, () => m.call(x));
      return tf.add(tf.sum(tf.square(result)), loss) as tf.Scalar;
    }, m.parameters());
    const gs = grads[m.scaleAdapter.weight.name]!;
    expect(tf.tidy(() => tf.sum(tf.abs(gs)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([x, y0, y1, value, ...Object.values(grads)]);
    m.dispose();
  });
});
