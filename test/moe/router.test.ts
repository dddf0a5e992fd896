import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { Router } from "../../src/moe/router.js";
import { planDispatch } from "../../src/moe/dispatch.js";

beforeAll(async () => {
  await initBackend();
});

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

describe("Router", () => {
  it("softmax, renormalised: gates are the selected probabilities divided by their sum (= softmax over top-k logits)", () => {
    const r = new Router(2, { numExperts: 4, topK: 2 });
    r.layer.weight.assign(tf.tensor2d([[1, 0], [0, 1], [-1, 0], [0.5, 0.5]]));
    tf.tidy(() => {
      const out = r.call(tf.tensor2d([[2, 0.1]]));
      expect(values(out.indices)).toEqual([0, 3]);
      const l = [2, 1.05];
      const e = l.map(Math.exp);
      values(out.gates).forEach((g, i) => expect(g).toBeCloseTo(e[i]! / (e[0]! + e[1]!), 6));
    });
    r.dispose();
  });
  it("sigmoid scores without renormalisation give σ(logit) of the chosen experts", () => {
    const r = new Router(2, { numExperts: 3, topK: 1, score: "sigmoid", renormalize: false });
    r.layer.weight.assign(tf.tensor2d([[1, 0], [0, 1], [1, 1]]));
    tf.tidy(() => {
      const out = r.call(tf.tensor2d([[0.5, -2]]));
      expect(values(out.indices)).toEqual([0]);
      expect(out.gates.dataSync()[0]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 6);
    });
    r.dispose();
  });
  it("noisy top-k and jitter perturb routing only in training, reproducibly from the seed", () => {
    const x = tf.randomNormal([64, 4], 0, 1, "float32", 1);
    const route = (r: Router): number[] => tf.tidy(() => values(r.call(x).logits));
    for (const opts of [{ noisy: true }, { jitter: 0.2 }]) {
      manualSeed(5);
      const r = new Router(4, { numExperts: 4, topK: 2, ...opts });
      if (r.noise) r.noise.weight.assign(tf.fill([4, 4], 0.5));
      manualSeed(9);
      const a = route(r);
      manualSeed(9);
      expect(route(r)).toEqual(a);
      expect(route(r)).not.toEqual(a);
      r.eval();
      const clean = route(r);
      expect(route(r)).toEqual(clean);
      const plain = tf.tidy(() => values(r.layer.call(x)));
      clean.forEach((v, i) => expect(v).toBeCloseTo(plain[i]!, 6));
      r.dispose();
    }
    x.dispose();
  });
  it("the noise projection of noisy top-k receives gradients", () => {
    manualSeed(6);
    const r = new Router(4, { numExperts: 4, topK: 2, noisy: true, renormalize: false });
    const x = tf.randomNormal([16, 4], 0, 1, "float32", 2);
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.square(r.call(x).gates)) as tf.Scalar, r.parameters());
    expect(tf.tidy(() => tf.sum(tf.abs(grads[r.noise!.weight.name]!)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([x, value, ...Object.values(grads)]);
    r.dispose();
  });
});

describe("planDispatch", () => {
  it("places first choices before second choices and counts Σ kept + dropped = T·k", () => {
    // 4 tokens, k = 2, 2 experts, capacity 3: first choices [0,0,1,0] fill expert 0 with tokens 0,1,3.
    const idx = tf.tensor2d([[0, 1], [0, 1], [1, 0], [0, 1]], [4, 2], "int32");
    for (const onHost of [true, false]) {
      const plan = planDispatch(idx, 2, 3, onHost);
      // assignment a = t·k + j → slot e·C + position, or E·C = 6 when dropped.
      expect(values(plan.assignSlot)).toEqual([0, 4, 1, 5, 3, 6, 2, 6]);
      expect(values(plan.slotAssign)).toEqual([0, 2, 6, 4, 1, 3]);
      tf.dispose([plan.assignSlot, plan.slotAssign]);
    }
    idx.dispose();
  });

  it("gives the same plan from the host pass and from tensor ops on a random routing", () => {
    const idx = tf.tidy(() => tf.topk(tf.randomUniform([300, 8], 0, 1, "float32", 5), 3).indices) as tf.Tensor2D;
    const [host, ops] = [planDispatch(idx, 8, 100, true), planDispatch(idx, 8, 100, false)];
    expect(values(host.assignSlot)).toEqual(values(ops.assignSlot));
    expect(values(host.slotAssign)).toEqual(values(ops.slotAssign));
    expect(values(host.assignSlot).some((s) => s === 800)).toBe(true); // some dropped: 900 choices, 800 slots
    tf.dispose([idx, host.assignSlot, host.slotAssign, ops.assignSlot, ops.slotAssign]);
  });
});
