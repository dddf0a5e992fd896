import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { Adam, AdamW, EMA, SGD, clipGradNorm, warmupCosine } from "../../src/nn/index.js";
import type { HostTensor } from "../../src/nn/module.js";
import { expectClose, loadGolden, tensorOf } from "./golden.js";

let G: Map<string, HostTensor>;
beforeAll(async () => {
  await initBackend();
  G = loadGolden("optim.safetensors");
});

function trajectory(make: (p: tf.Variable) => { step(g: Record<string, tf.Tensor>): void; dispose(): void }): tf.Tensor {
  const p0 = tensorOf(G.get("p0")!);
  const p = tf.variable(p0);
  const all = tensorOf(G.get("grads")!);
  const grads = tf.unstack(all);
  tf.dispose([p0, all]);
  const opt = make(p);
  const traj: tf.Tensor[] = [];
  for (const g of grads) {
    opt.step({ [p.name]: g });
    traj.push(p.clone());
  }
  const out = tf.stack(traj);
  opt.dispose();
  tf.dispose([p, ...grads, ...traj]);
  return out;
}

describe("optimisers match torch.optim over 6 steps", () => {
  const cases: [string, (p: tf.Variable) => { step(g: Record<string, tf.Tensor>): void; dispose(): void }][] = [
    ["adamw", (p) => new AdamW([p], { lr: 0.01, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 })],
    ["adam", (p) => new Adam([p], { lr: 0.01 })],
    ["sgd_momentum", (p) => new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01, dampening: 0.1 })],
    ["sgd_nesterov", (p) => new SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true })],
    ["sgd_plain", (p) => new SGD([p], { lr: 0.1 })],
  ];
  for (const [name, make] of cases) {
    it(name, () => {
      const before = tf.memory().numTensors;
      const t = trajectory(make);
      expectClose(name, t, G.get(`${name}.traj`)!, 1e-6);
      t.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe("training utilities", () => {
  it("clipGradNorm scales by maxNorm/(norm+1e-6) like clip_grad_norm_", () => {
    const grads = { a: tensorOf(G.get("clip.a")!), b: tensorOf(G.get("clip.b")!) };
    const total = clipGradNorm(grads, 1.5);
    expect(Math.abs(total - G.get("clip.total")!.data[0]!)).toBeLessThan(1e-4);
    expectClose("clipped a", grads.a, G.get("clip.a_after")!, 1e-6);
    expectClose("clipped b", grads.b, G.get("clip.b_after")!, 1e-6);
    tf.dispose(Object.values(grads));
  });

  it("warmupCosine: linear warm-up, cosine to minLr, flat after", () => {
    const lr = warmupCosine({ baseLr: 1, warmupSteps: 4, totalSteps: 14, minLr: 0.1 });
    expect([0, 1, 2, 3].map(lr)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(lr(4)).toBeCloseTo(1, 12);
    expect(lr(9)).toBeCloseTo(0.55, 12); // half-way: minLr + (1 - minLr)/2
    expect(lr(14)).toBeCloseTo(0.1, 12);
    expect(lr(100)).toBeCloseTo(0.1, 12);
  });

  it("EMA follows shadow ← d·shadow + (1−d)·param", () => {
    const p = tf.variable(tf.tensor1d([1, 2]));
    const ema = new EMA([p], 0.5);
    p.assign(tf.tensor1d([3, 6]));
    ema.update(); // 2, 4
    p.assign(tf.tensor1d([0, 0]));
    ema.update(); // 1, 2
    ema.copyTo();
    expect(Array.from(p.dataSync())).toEqual([1, 2]);
    ema.dispose();
    p.dispose();
  });
});
