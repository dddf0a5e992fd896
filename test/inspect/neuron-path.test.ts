import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { ConfigError } from "../../src/errors.js";
import { influentialNeuronPath, selectNeuronPath } from "../../src/inspect/neuron-path.js";
import { Linear, Module, ReLU } from "../../src/nn/index.js";

beforeAll(async () => {
  await initBackend();
});

/** x → act1 = relu(fc1 x) → act2 = relu(fc2 act1) → out(act2), over [1, T, 4]. */
class Chain extends Module {
  readonly fc1 = this.registerModule("fc1", new Linear(4, 5));
  readonly act1 = this.registerModule("act1", new ReLU());
  readonly fc2 = this.registerModule("fc2", new Linear(5, 5));
  readonly act2 = this.registerModule("act2", new ReLU());
  readonly out = this.registerModule("out", new Linear(5, 1));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.out.call(this.act2.call(this.fc2.call(this.act1.call(this.fc1.call(x))))));
  }
}

function set(p: tf.Variable, values: number[]): void {
  p.assign(tf.tensor(values, p.shape));
}

describe("influential neuron path", () => {
  it("greedy selection takes the best candidate per layer given the path so far", () => {
    const r = selectNeuronPath(3, (path, l) => (l === 0 ? [0, 3, 1] : l === 1 ? (path[0] === 1 ? [5, 2] : [0, 9]) : [1, 1]));
    expect(r).toEqual({ path: [1, 0, 0], scores: [3, 5, 1] });
  });

  it("single layer of a linear target: JAS_j = w_j · x_j exactly (IG completeness)", () => {
    manualSeed(1);
    const net = new Chain();
    const x = tf.tensor([[[0.5, -1, 2, 0.3], [1, 1, 1, 1]]]);
    const w = [0.7, -0.2, 1.5, 0.1, -0.9];
    // target F = w · fc1(x)[0, 1] is linear in the fc1 outputs
    const target = () => tf.tidy(() => tf.sum(tf.mul(net.fc1.call(x).slice([0, 1, 0], [1, 1, 5]).reshape([5]), tf.tensor1d(w))) as tf.Scalar);
    const act = net.fc1.call(x).slice([0, 1, 0], [1, 1, 5]);
    const xs = Array.from(act.dataSync());
    act.dispose();
    const before = tf.memory().numTensors;
    for (const score of ["reference", "exact"] as const) {
      const r = influentialNeuronPath(net, { layers: ["fc1"], target, position: 1, steps: 7, score });
      expect(tf.memory().numTensors).toBe(before);
      const scores = xs.map((xj, j) => xj * w[j]!);
      const best = scores.indexOf(Math.max(...scores));
      expect(r.path).toEqual([best]);
      expect(r.scores[0]).toBeCloseTo(scores[best]!, 5);
    }
    expect(() => influentialNeuronPath(net, { layers: [], target })).toThrow(ConfigError);
    x.dispose();
    net.dispose();
  });

  it("recovers the one chain of neurons that carries the signal", () => {
    manualSeed(2);
    const net = new Chain();
    const w1 = new Array(20).fill(0);
    for (let i = 0; i < 4; i++) w1[2 * 4 + i] = 1; // only fc1 neuron 2 sees the input
    set(net.fc1.weight, w1);
    set(net.fc1.bias!, [0, 0, 0, 0, 0]);
    const w2 = new Array(25).fill(0);
    w2[3 * 5 + 2] = 2; // fc2 neuron 3 reads fc1 neuron 2
    w2[1 * 5 + 0] = 5; // a decoy fed by a silent neuron
    set(net.fc2.weight, w2);
    set(net.fc2.bias!, [0, 0.1, 0, 0, 0]);
    set(net.out.weight, [1, 1, 1, 1, 1]);
    const x = tf.tensor([[[1, 2, 0.5, 1]]]);
    const target = () => tf.tidy(() => net.call(x).sum() as tf.Scalar);
    const r = influentialNeuronPath(net, { layers: ["act1", "act2"], target });
    expect(r.path).toEqual([2, 3]);
    // x = (4.5, 9); with both scaled by α, ∂F/∂act2[3] = 1 and ∂F/∂act1[2] = 2α; α_k = k/20
    const sumAlpha = 9.5;
    expect(r.scores[1]).toBeCloseTo(((4.5 + 9) / 20) * (2 * sumAlpha + 20), 4);
    const exact = influentialNeuronPath(net, { layers: ["act1", "act2"], target, score: "exact" });
    expect(exact.path).toEqual([2, 3]);
    expect(exact.scores[1]).toBeCloseTo((4.5 / 20) * 2 * sumAlpha + 9, 4);
    x.dispose();
    net.dispose();
  });
});
