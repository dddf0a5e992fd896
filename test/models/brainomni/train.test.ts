import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../src/engine/backend.js";
import { manualSeed, rng } from "../../../src/engine/random.js";
import { DEMO_TOKENIZER } from "../../../src/models/brainomni/config.js";
import { simulateBatch, simulatedTensors } from "../../../src/models/brainomni/simulate.js";
import { BrainTokenizer, officialInit } from "../../../src/models/brainomni/tokenizer.js";
import { TokenizerTrainer } from "../../../src/models/brainomni/train.js";

beforeAll(async () => {
  await initBackend();
});

const TINY = { ...DEMO_TOKENIZER, nFilters: 2, nDim: 16, codebookDim: 16, nNeuro: 4, codebookSize: 16 };

function batchOf(seed: number, C = 8) {
  manualSeed(seed);
  const sim = simulateBatch(rng(), { batch: 2, channels: C, samples: 512, kind: "mixed" });
  return simulatedTensors(sim);
}

describe("BrainTokenizer training mechanics", () => {
  it("steps change every trainable group, k-means initialises the codebooks, EMA moves them, and no tensor leaks", () => {
    manualSeed(3);
    const tok = new BrainTokenizer(TINY);
    officialInit(tok, "fan-in");
    const trainer = new TokenizerTrainer(tok, { steps: 6, lr: 2e-3, emaInit: "scaled" });
    const before = new Map(tok.namedParameters().map(([n, p]) => [n, Float32Array.from(p.dataSync())]));
    const b = batchOf(11);
    expect(tok.quantizer.codebooks().every((c) => !c.isInitialised())).toBe(true);
    trainer.step(b); // first step allocates the optimiser state
    expect(tok.quantizer.codebooks().every((c) => c.isInitialised())).toBe(true);
    const embed0 = Float32Array.from(tok.quantizer.codebooks()[0]!.embed.dataSync());
    const n0 = tf.memory().numTensors;
    const logs = [1, 2, 3].map(() => trainer.step(b));
    expect(tf.memory().numTensors).toBe(n0);
    for (const l of logs) {
      expect(Number.isFinite(l.loss)).toBe(true);
      expect(l.loss).toBeCloseTo(l.timeLoss + Math.exp(-l.pcc) + l.commitmentLoss + l.ampLoss + 0.5 * l.phaseLoss, 4);
      l.codebookUsage.forEach((u) => expect(u).toBeGreaterThan(0));
    }
    const moved = (n: string) => {
      const now = tok.namedParameters().find(([k]) => k === n)![1].dataSync();
      return before.get(n)!.some((v, i) => Math.abs(v - now[i]!) > 1e-7);
    };
    for (const n of ["sensor_embed.pos_embedding_layer.0.weight", "encoder.neuros", "encoder.seanet_encoder.model.0.conv.conv.weight_v", "encoder.k_proj.weight", "decoder.forwardsolution.kv.weight", "decoder.seanet_decoder.model.3.convtr.convtr.weight_g", "decoder.seanet_decoder.model.1.lstm.weight_hh_l0"]) {
      expect(moved(n), n).toBe(true);
    }
    const embed1 = tok.quantizer.codebooks()[0]!.embed.dataSync();
    expect(embed0.some((v, i) => Math.abs(v - embed1[i]!) > 1e-6)).toBe(true);
    trainer.dispose();
    tf.dispose([b.x, b.pos, b.sensorType]);
    tok.dispose();
  });

  it("the channel drop hides exactly the first 25% of the permuted channels from the encoder; dropped channels are still decoded", () => {
    manualSeed(5);
    const tok = new BrainTokenizer(TINY);
    tok.eval();
    const b = batchOf(12, 12);
    const draw = tok.drawChannelDrop(2, 12, 1, rng());
    expect(draw.nMasked).toBe(3);
    expect([...draw.perm].sort((a, c) => a - c)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const seen: number[][] = [];
    const h = tok.encoder.registerForwardHook(({ inputs }) => void seen.push((inputs[0] as tf.Tensor).shape));
    const out = tok.trainForward(b, draw);
    h.remove();
    expect(seen[0]).toEqual([2, 9, 1, 512]);
    expect(out.xRec.shape).toEqual([2, 12, 1, 512]);
    // Changing a hidden channel's signal changes nothing; changing a visible one changes the codes' input.
    const hidden = draw.perm[0]!;
    const x2 = tf.tidy(() => tf.concat([tf.slice(b.x, [0, 0, 0], [-1, hidden, -1]), tf.zeros([2, 1, 512]), tf.slice(b.x, [0, hidden + 1, 0], [-1, -1, -1])], 1));
    const out2 = tok.trainForward({ ...b, x: x2 }, draw);
    expect(Array.from(out2.indices.dataSync())).toEqual(Array.from(out.indices.dataSync()));
    const recA = out.xRec.dataSync();
    const recB = out2.xRec.dataSync();
    expect(recA.every((v, i) => v === recB[i])).toBe(true);
    tf.dispose([b.x, b.pos, b.sensorType, x2, draw.noise, out.xRec, out.target, out.indices, ...Object.values(out.losses), out2.xRec, out2.target, out2.indices, ...Object.values(out2.losses)]);
    tok.dispose();
  });
});
