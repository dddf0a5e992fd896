import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { Rng, manualSeed } from "../../src/engine/random.js";
import { Conv1d } from "../../src/nn/conv.js";
import { Module } from "../../src/nn/module.js";
import { arrayDataset, splitDataset } from "../../src/train/dataset.js";
import { evaluateClassifier, finetuneClassifier, predictProbabilities, type FeatureEncoder } from "../../src/train/finetune.js";
import { balancedAccuracy, cohenKappa } from "../../src/train/metrics.js";

/** Windows of 4 channels × 128 samples at 128 Hz whose dominant rhythm is 6, 10 or 20 Hz (the label). */
function rhythms(n: number, seed: number) {
  const r = new Rng(seed);
  const freqs = [6, 10, 20];
  const x = new Float32Array(n * 4 * 128);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let c = 0; c < 4; c++) {
      const phase = r.uniform() * 2 * Math.PI;
      for (let t = 0; t < 128; t++) x[(i * 4 + c) * 128 + t] = Math.sin((2 * Math.PI * freqs[y[i]!]! * t) / 128 + phase) + 0.8 * r.normal();
    }
  }
  return arrayDataset(x, [4, 128], y);
}

/** A tiny convolutional encoder: conv → square → mean over time (band power-like features). */
class ConvEncoder extends Module {
  conv = this.registerModule("conv", new Conv1d(4, 8, 15, { padding: 7 }));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mean(tf.square(this.conv.call(x)), 2));
  }
}
const encoder = (m: ConvEncoder): FeatureEncoder => ({ module: m, embed: (x) => m.call(x), dim: 8 });

beforeAll(async () => {
  await initBackend();
});

describe("fine-tuning", () => {
  it("a frozen encoder stays unchanged while the head learns", () => {
    manualSeed(2);
    const enc = new ConvEncoder();
    const before = enc.conv.namedParameters().map(([, p]) => Array.from(p.dataSync()));
    const { train, validation } = splitDataset(rhythms(90, 1), 0.33, 3);
    const { model, result } = finetuneClassifier({ encoder: encoder(enc), nClasses: 3, train, validation, freezeEncoder: true, epochs: 3, batchSize: 16, lr: 0.01 });
    expect(result.history).toHaveLength(3);
    expect(enc.conv.namedParameters().map(([, p]) => Array.from(p.dataSync()))).toEqual(before);
    expect(model.head.namedParameters().length).toBe(2);
  });

  it("full fine-tuning learns the rhythm task and the report equals the metrics recomputed", () => {
    manualSeed(4);
    const { train, validation } = splitDataset(rhythms(240, 5), 0.25, 6);
    const { model } = finetuneClassifier({ encoder: encoder(new ConvEncoder()), nClasses: 3, train, validation, epochs: 15, batchSize: 16, lr: 0.02 });
    const report = evaluateClassifier(model, validation);
    expect(report.balancedAccuracy).toBeGreaterThan(0.8); // chance is 1/3
    const pred = predictProbabilities(model, validation).map((p) => p.indexOf(Math.max(...p)));
    expect(report.balancedAccuracy).toBe(balancedAccuracy(validation.y, pred));
    expect(report.cohenKappa).toBe(cohenKappa(validation.y, pred));
    expect(report.auroc).toBeGreaterThan(0.9);
    expect(report.n).toBe(validation.length);
  });
});

describe("regression heads and .npy windows", () => {
  it("regresses the dominant frequency from .npy windows", async () => {
    const { writeNpy } = await import("../../src/io/npy.js");
    const { npyWindowDataset } = await import("../../src/train/dataset.js");
    const { evaluateRegressor } = await import("../../src/train/finetune.js");
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const ds0 = rhythms(240, 8);
    const path = join(mkdtempSync(join(tmpdir(), "nc-npy-ds-")), "w.npy");
    writeNpy(path, ds0.x, [240, 4, 128]);
    const hz = Float32Array.from(ds0.y, (k) => [6, 10, 20][k]! / 10); // target in units of 10 Hz
    const ds = npyWindowDataset(path, hz);
    expect(ds.sampleShape).toEqual([4, 128]);
    expect(Array.from(ds.x.subarray(0, 5))).toEqual(Array.from(ds0.x.subarray(0, 5)));
    expect(() => npyWindowDataset(path, new Float32Array(3))).toThrow(/targets/);
    manualSeed(9);
    const { train, validation } = splitDataset(ds, 0.25, 2);
    const { model } = finetuneClassifier({ encoder: encoder(new ConvEncoder()), nClasses: 0, task: "regression", train, validation, epochs: 15, batchSize: 16, lr: 0.02 });
    const r = evaluateRegressor(model, validation);
    expect(r.pearsonR).toBeGreaterThan(0.8);
    expect(r.n).toBe(validation.length);
    expect(() => finetuneClassifier({ encoder: encoder(new ConvEncoder()), nClasses: 3, task: "regression", train: rhythms(9, 1), epochs: 1 })).toThrow(/float32 targets/);
  });
});
