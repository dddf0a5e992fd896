import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { Module } from "../../src/nn/module.js";
import { MoEFeedForward } from "../../src/moe/layer.js";
import { collectMoEAux } from "../../src/moe/aux.js";
import { ExpertUsageRecorder, applyExpertMasks, clearExpertMasks, scoreExpertsByBehaviour } from "../../src/moe/mote.js";
import { ConfigError } from "../../src/errors.js";

beforeAll(async () => {
  await initBackend();
});

class Net extends Module {
  readonly ffn = this.registerModule("ffn", new MoEFeedForward(4, { experts: 4, topK: 2, hidden: 6, capacityFactor: Infinity, evalCapacityFactor: Infinity }));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(x, this.ffn.call(x)));
  }
}

/** Tokens whose first feature is large (the "behaviour") or strongly negative (the contrast). */
const tokens = (sign: number, seed: number): tf.Tensor =>
  tf.tidy(() => tf.concat([tf.fill([32, 1], 3 * sign), tf.randomNormal([32, 3], 0, 0.3, "float32", seed)], 1));

describe("MoTE expert masks and behaviour scores", () => {
  it("finds the planted behaviour expert and switching it off removes it", () => {
    manualSeed(31);
    const net = new Net().eval();
    // Expert 2 responds to the first feature: planted behaviour expert.
    net.ffn.router.layer.weight.assign(tf.tensor2d([[0, 1, 0, 0], [0, 0, 1, 0], [2, 0, 0, 0], [0, 0, 0, 1]]));
    const record = (x: tf.Tensor): ExpertUsageRecorder => {
      const rec = new ExpertUsageRecorder();
      const { result, loss, layers } = collectMoEAux(net, () => net.call(x));
      rec.add(layers);
      tf.dispose([result, loss]);
      return rec;
    };
    const xa = tokens(1, 1);
    const xb = tokens(-1, 2);
    const scores = scoreExpertsByBehaviour(record(xa), record(xb));
    expect(scores[0]).toMatchObject({ layer: "ffn", expert: 2 });
    expect(scores[0]!.frequencyA).toBe(1);
    expect(scores[0]!.frequencyB).toBe(0);

    applyExpertMasks(net, { ffn: { off: [2] } });
    expect(record(xa).frequencies("ffn")[2]).toBe(0);
    // Switched off with renormalised gates = a 3-expert MoE that never had expert 2.
    const keep = [0, 1, 3];
    const ref = new MoEFeedForward(4, { ...net.ffn.options, experts: 3 }).eval();
    const sd = net.ffn.stateDict();
    tf.tidy(() => {
      const idx = tf.tensor1d(keep, "int32");
      ref.loadStateDict(Object.fromEntries([...sd].map(([n, t]) => [n, tf.gather(t, idx)])));
      expect(tf.max(tf.abs(tf.sub(net.ffn.call(xa), ref.call(xa)))).dataSync()[0]).toBeLessThan(1e-6);
    });
    applyExpertMasks(net, { ffn: { force: [2] } });
    expect(record(xb).frequencies("ffn")[2]).toBe(1);
    clearExpertMasks(net);
    expect(record(xb).frequencies("ffn")[2]).toBe(0);
    tf.dispose([xa, xb]);
    ref.dispose();
    net.dispose();
  });
  it("rejects unknown layers and impossible masks", () => {
    const net = new Net();
    expect(() => applyExpertMasks(net, { "blocks.0.ffn": { off: [1] } })).toThrow(ConfigError);
    expect(() => applyExpertMasks(net, { ffn: { force: [0, 1, 2] } })).toThrow(ConfigError);
    expect(() => applyExpertMasks(net, { ffn: { off: [0, 1, 2] } })).toThrow(ConfigError);
    expect(() => applyExpertMasks(net, { ffn: { off: [7] } })).toThrow(ConfigError);
    net.dispose();
  });
});
