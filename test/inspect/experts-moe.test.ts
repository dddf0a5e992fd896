import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed, Rng } from "../../src/engine/random.js";
import { distinctiveExperts, expertUsage, routingCountsFromReports } from "../../src/inspect/experts.js";
import { ActivationRecorder } from "../../src/inspect/recorder.js";
import { collectMoEAux } from "../../src/moe/aux.js";
import { MoEFeedForward } from "../../src/moe/layer.js";
import { Module } from "../../src/nn/module.js";

beforeAll(async () => {
  await initBackend();
});

class Net extends Module {
  readonly ffn = this.registerModule("ffn", new MoEFeedForward(8, { experts: 4, hidden: 16, topK: 1, evalCapacityFactor: 8 }));
  forward(x: tf.Tensor): tf.Tensor {
    return this.ffn.call(x);
  }
}

describe("expert usage per label on the MoE core", () => {
  it("finds the expert a planted router sends 'spike' tokens to, from the MoE layer's own load reports", () => {
    manualSeed(3);
    const net = new Net().eval();
    // the router sends tokens with a large feature 0 to expert 2 and others elsewhere
    const w = new Float32Array(4 * 8);
    w[2 * 8 + 0] = 4;
    w[1 * 8 + 1] = 1;
    net.ffn.router.layer.weight.assign(tf.tensor(w, [4, 8]));
    const rng = new Rng(1);
    const tokens = (first: number) => {
      const v = rng.normalArray(2 * 10 * 8, 0, 0.1);
      for (let i = 0; i < 20; i++) v[i * 8] = first;
      return tf.tensor(v, [2, 10, 8]);
    };
    const records = [];
    const rec = new ActivationRecorder(net, { record: "ffn" });
    for (const [label, first] of [["spike", 5], ["rest", -5], ["spike", 4]] as const) {
      const x = tokens(first);
      const aux = collectMoEAux(net, () => net.call(x));
      tf.dispose([aux.result, aux.loss, x]);
      records.push(...routingCountsFromReports(aux.layers, label));
    }
    rec.detach();
    expect(records.map((r) => r.layer)).toEqual(["ffn", "ffn", "ffn"]);
    const usage = expertUsage(records);
    const spike = usage.find((u) => u.label === "spike")!;
    expect(spike.tokens).toBe(40);
    expect([...spike.frequency]).toEqual([0, 0, 1, 0]);
    const ranked = distinctiveExperts(usage, "spike", "rest");
    expect(ranked[0]).toMatchObject({ layer: "ffn", expert: 2, score: 1 });
    // the recorder reads the MoE layer's output like any module's
    expect(rec.table().module.length).toBe(3 * 20);
    net.dispose();
  });
});
