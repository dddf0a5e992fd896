import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { FeedForward, SwiGLU } from "../../src/nn/mlp.js";
import { buildFeedForward, type FfnConfig } from "../../src/moe/ffn.js";
import { MoEFeedForward } from "../../src/moe/layer.js";
import { upcycleFeedForward } from "../../src/moe/upcycle.js";
import { ConfigError } from "../../src/errors.js";

beforeAll(async () => {
  await initBackend();
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe("buildFeedForward (the ffn config switch)", () => {
  it("builds dense, SwiGLU and MoE blocks that all map [B, L, d] → [B, L, d]", () => {
    const x = tf.randomNormal([2, 3, 8]);
    const configs: FfnConfig[] = [
      { type: "dense", hidden: 16 },
      { type: "swiglu", hidden: 16 },
      { type: "moe", experts: 4, topK: 2, hidden: 8, capacityFactor: 1.5 },
    ];
    const kinds = configs.map((c) => {
      const m = buildFeedForward(8, c);
      const y = m.call(x);
      expect(y.shape).toEqual([2, 3, 8]);
      y.dispose();
      const kind = m.constructor.name;
      m.dispose();
      return kind;
    });
    expect(kinds).toEqual([FeedForward.name, SwiGLU.name, MoEFeedForward.name]);
    x.dispose();
  });
  it("passes MoE options through and names bad keys", () => {
    const m = buildFeedForward(8, { type: "moe", experts: 8, topK: 2, hidden: 4, capacityFactor: 1.0, glu: true }) as MoEFeedForward;
    expect([m.router.numExperts, m.router.topK, m.capacityFactor, m.experts.glu, m.experts.activationName]).toEqual([8, 2, 1.0, true, "silu"]);
    m.dispose();
    const bad = (c: unknown, key: string): void => {
      try {
        buildFeedForward(8, c as FfnConfig, "model.ffn");
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).keyPath).toBe(key);
      }
    };
    bad({ type: "sparse", hidden: 4 }, "model.ffn.type");
    bad({ type: "moe", experts: 4, hidden: 4, topk: 2 }, "model.ffn.topk");
    bad({ type: "moe", experts: 4, topK: 9, hidden: 4 }, "model.ffn.topK");
    bad({ type: "dense", hidden: -1 }, "model.ffn.hidden");
  });
});

describe("upcycling a dense FFN", () => {
  for (const [name, make, activation] of [
    ["FeedForward(gelu)", () => new FeedForward(8, 16), "gelu"],
    ["FeedForward(relu)", () => new FeedForward(8, 16, { activation: "relu" }), "relu"],
    ["SwiGLU", () => new SwiGLU(8, 16), "silu"],
  ] as const) {
    it(`${name}: identical experts with renormalised top-k equal the dense FFN`, () => {
      manualSeed(3);
      const dense = make();
      const x = tf.randomNormal([4, 5, 8], 0, 1, "float32", 2);
      for (const topK of [1, 2, 4]) {
        const moe = upcycleFeedForward(dense, { experts: 4, topK, capacityFactor: Infinity, activation });
        const diff = maxAbsDiff(moe.call(x), dense.call(x));
        expect(diff).toBeLessThan(1e-6);
        moe.dispose();
      }
      dense.dispose();
      x.dispose();
    });
  }
  it("with raw (not renormalised) top-k gates the output is (Σ selected P)·FFN(x)", () => {
    manualSeed(4);
    const dense = new FeedForward(8, 16);
    const moe = upcycleFeedForward(dense, { experts: 4, topK: 2, capacityFactor: Infinity, renormalize: false, routerInitStd: 0.5 });
    const x = tf.randomNormal([6, 8], 0, 1, "float32", 9);
    tf.tidy(() => {
      const r = moe.router.call(x);
      const expected = tf.mul(dense.call(x), tf.sum(r.gates, -1, true));
      expect(maxAbsDiff(moe.call(x), expected)).toBeLessThan(1e-6);
      expect(tf.max(tf.sum(r.gates, -1)).dataSync()[0]).toBeLessThan(0.999);
    });
    tf.dispose([x]);
    moe.dispose();
    dense.dispose();
  });
  it("noise makes the experts differ", () => {
    const dense = new FeedForward(8, 16);
    const moe = upcycleFeedForward(dense, { experts: 2, noiseStd: 0.01 });
    const w = moe.experts.wUp.arraySync() as number[][][];
    expect(w[0]![0]![0]).not.toBe(w[1]![0]![0]);
    moe.dispose();
    dense.dispose();
  });
});
