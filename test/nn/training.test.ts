import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed, rng } from "../../src/engine/random.js";
import { AdamW, Embedding, Linear, Module, ModuleList, TransformerEncoderLayer, trainStep, warmupCosine } from "../../src/nn/index.js";

/** A tiny causal language model over 16 tokens. */
class TinyLM extends Module {
  readonly emb = this.registerModule("emb", new Embedding(16, 16));
  readonly layers = this.registerModule(
    "layers",
    new ModuleList([0, 1].map(() => new TransformerEncoderLayer(16, 2, { dimFeedforward: 32, dropout: 0.1, batchFirst: true, normFirst: true }))),
  );
  readonly head = this.registerModule("head", new Linear(16, 16));
  forward(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = this.emb.call(ids);
      for (const l of this.layers.items) h = l.call(h, { isCausal: true });
      return this.head.call(h);
    });
  }
}

/** Batches of the sequence t, t+1, t+2, ... mod 16 (learnable: next = current + 1). */
function batch(): { ids: tf.Tensor; labels: tf.Tensor } {
  const ids = new Int32Array(4 * 8);
  for (let b = 0; b < 4; b++) {
    const start = rng().int(16);
    for (let t = 0; t < 8; t++) ids[b * 8 + t] = (start + t) % 16;
  }
  const labels = ids.map((v) => (v + 1) % 16);
  return { ids: tf.tensor2d(ids, [4, 8], "int32"), labels: tf.tidy(() => tf.oneHot(tf.tensor1d(labels, "int32"), 16)) };
}

function train(steps: number): { model: TinyLM; losses: number[] } {
  const model = new TinyLM();
  const opt = new AdamW(model.trainableParameters(), { lr: 3e-3 });
  const lr = warmupCosine({ baseLr: 3e-3, warmupSteps: 10, totalSteps: steps });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { ids, labels } = batch();
    opt.lr = lr(s);
    losses.push(trainStep(model, () => tf.losses.softmaxCrossEntropy(labels, model.call(ids).reshape([-1, 16])) as tf.Scalar, opt, { clipNorm: 1 }));
    tf.dispose([ids, labels]);
  }
  opt.dispose();
  return { model, losses };
}

beforeAll(async () => {
  await initBackend();
});

describe("training a small transformer", () => {
  it("leaves tf.memory().numTensors unchanged after 100 steps, and learns", () => {
    manualSeed(1);
    const before = tf.memory().numTensors;
    const { model, losses } = train(100);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(first).toBeGreaterThan(2.2); // ≈ ln 16 at the start
    expect(last).toBeLessThan(first / 2);
  });

  it("is deterministic for a seed (initialisation, dropout masks, data)", () => {
    manualSeed(42);
    const a = train(3);
    manualSeed(42);
    const b = train(3);
    expect(b.losses).toEqual(a.losses);
    const pa = a.model.stateDict();
    for (const [n, t] of b.model.stateDict()) expect(Array.from(t.dataSync()), n).toEqual(Array.from(pa.get(n)!.dataSync()));
    manualSeed(43);
    const c = new TinyLM();
    expect(Array.from(c.emb.weight.dataSync())).not.toEqual(Array.from(a.model.emb.weight.dataSync()));
    [a.model, b.model, c].forEach((m) => m.dispose());
  });
});
