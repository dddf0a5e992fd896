import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { Rng, manualSeed } from "../../src/engine/random.js";
import { Dropout } from "../../src/nn/dropout.js";
import { Linear } from "../../src/nn/linear.js";
import { crossEntropy } from "../../src/nn/losses.js";
import { Module } from "../../src/nn/module.js";
import { AdamW, SGD } from "../../src/nn/optim.js";
import { warmupCosine } from "../../src/nn/optim.js";
import { arrayDataset, epochBatches, splitDataset } from "../../src/train/dataset.js";
import { fit } from "../../src/train/loop.js";
import { accuracy } from "../../src/train/metrics.js";

class Mlp extends Module {
  fc1 = this.registerModule("fc1", new Linear(8, 16));
  drop = this.registerModule("drop", new Dropout(0.2));
  fc2 = this.registerModule("fc2", new Linear(16, 3));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.fc2.call(this.drop.call(tf.relu(this.fc1.call(x)))));
  }
}

/** Three classes, label = argmax of a fixed linear map of x: learnable, not trivial. */
function task(n: number, seed: number, randomLabels = false) {
  const r = new Rng(seed);
  const w = new Rng(99).normalArray(24);
  const x = r.normalArray(n * 8);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let k = 0; k < 3; k++) {
      let s = 0;
      for (let j = 0; j < 8; j++) s += w[k * 8 + j]! * x[i * 8 + j]!;
      if (s > best) [best, y[i]] = [s, k];
    }
    if (randomLabels) y[i] = r.int(3);
  }
  return arrayDataset(x, [8], y);
}

const loss = (m: Mlp) => (x: tf.Tensor, y: tf.Tensor) => crossEntropy(m.call(x), y);

function weights(m: Module): Map<string, Float32Array> {
  return new Map(m.namedParameters().map(([n, p]) => [n, p.dataSync() as Float32Array]));
}

function predict(m: Mlp, x: Float32Array): Int32Array {
  m.eval();
  return tf.tidy(() => tf.argMax(m.call(tf.tensor(x, [x.length / 8, 8])), 1).dataSync() as Int32Array);
}

beforeAll(async () => {
  await initBackend();
});

describe("training loop", () => {
  it("learns a separable task and leaks no tensors", () => {
    manualSeed(1);
    const model = new Mlp();
    const { train, validation } = splitDataset(task(400, 1), 0.25, 7);
    const before = tf.memory().numTensors;
    const optimizer = new AdamW(model.trainableParameters(), { lr: 0.02 });
    const result = fit({ model, optimizer, loss: loss(model), train, validation, epochs: 12, batchSize: 32, seed: 3 });
    expect(tf.memory().numTensors - before).toBe(optimizer.stepCount > 0 ? 2 * model.trainableParameters().length : 0); // Adam's m and v
    expect(result.history).toHaveLength(12);
    expect(result.history[11]!.trainLoss).toBeLessThan(result.history[0]!.trainLoss * 0.5);
    expect(accuracy(validation.y, predict(model, validation.x))).toBeGreaterThan(0.85);
  });

  it("resumes after an interruption to exactly the weights of an uninterrupted run", () => {
    const data = task(96, 2);
    const run = (stateDir: string | undefined, steps?: number, initSeed = 5) => {
      manualSeed(initSeed);
      const model = new Mlp();
      const optimizer = new SGD(model.trainableParameters(), { lr: 0.05, momentum: 0.9 });
      const r = fit({
        model, optimizer, loss: loss(model), train: data, epochs: 3, batchSize: 16, seed: 11,
        schedule: warmupCosine({ baseLr: 0.05, warmupSteps: 4, totalSteps: 18 }),
        ...(stateDir ? { stateDir, resume: true, saveEvery: 5 } : {}), ...(steps ? { maxSteps: steps } : {}),
      });
      return { model, r };
    };
    const full = run(undefined);
    const dir = mkdtempSync(join(tmpdir(), "nc-train-"));
    const first = run(dir, 7);
    expect(first.r.interrupted).toBe(true);
    // A different initialisation and random stream: everything must come from the state file.
    const resumed = run(dir, undefined, 1234);
    expect(resumed.r.interrupted).toBe(false);
    expect(resumed.r.steps).toBe(18);
    const a = weights(full.model);
    const b = weights(resumed.model);
    for (const [n, v] of a) expect(Array.from(b.get(n)!), n).toEqual(Array.from(v));
    expect(resumed.r.history.map((h) => h.trainLoss)).toEqual(full.r.history.map((h) => h.trainLoss));
  });

  it("stops early when the validation score stops improving", () => {
    manualSeed(3);
    const model = new Mlp();
    const { train, validation } = splitDataset(task(120, 4, true), 0.3, 1);
    const r = fit({ model, optimizer: new AdamW(model.trainableParameters(), { lr: 0.05 }), loss: loss(model), train, validation, epochs: 60, batchSize: 16, patience: 3 });
    expect(r.stoppedEarly).toBe(true);
    expect(r.history.length).toBeLessThan(60);
    expect(r.history.length - 1 - r.bestEpoch).toBe(3);
  });

  it("orders batches from the seed and epoch alone", () => {
    const a = epochBatches(10, 4, 2, 9).map((b) => Array.from(b));
    expect(epochBatches(10, 4, 2, 9).map((b) => Array.from(b))).toEqual(a);
    expect(epochBatches(10, 4, 3, 9).map((b) => Array.from(b))).not.toEqual(a);
    expect(a.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(a.flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
