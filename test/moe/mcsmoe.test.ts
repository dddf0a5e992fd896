import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { MoEFeedForward } from "../../src/moe/layer.js";
import { compressMoE, mergeMoE, readExperts, writeExperts } from "../../src/moe/mcsmoe.js";
import { permuteNeurons } from "../../src/moe/merge/align.js";
import { ConfigError } from "../../src/errors.js";

beforeAll(async () => {
  await initBackend();
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe("MC-SMoE on a layer", () => {
  it("merging N identical (but neuron-permuted) experts returns the same function with fewer experts", () => {
    manualSeed(12);
    const moe = new MoEFeedForward(6, { experts: 4, topK: 2, hidden: 5, capacityFactor: Infinity, evalCapacityFactor: Infinity, glu: true }).eval();
    const [first] = readExperts(moe.experts);
    const perms = [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [1, 0, 3, 2, 4], [2, 4, 0, 1, 3]];
    writeExperts(moe.experts, perms.map((p) => permuteNeurons(first!, Int32Array.from(p))));
    const x = tf.randomNormal([20, 6], 0, 1, "float32", 4);
    const { layer, groups } = mergeMoE(moe, x, { numGroups: 1 });
    expect(layer.experts.numExperts).toBe(1);
    expect(Array.from(groups.labels)).toEqual([0, 0, 0, 0]);
    expect(maxAbsDiff(layer.call(x), moe.call(x))).toBeLessThan(1e-5);
    expect(layer.numParameters()).toBeLessThan(moe.numParameters());
    layer.dispose();
    moe.dispose();
    x.dispose();
  });
  it("a token routed to any member of a group is served by the merged expert", () => {
    manualSeed(13);
    const moe = new MoEFeedForward(4, { experts: 4, topK: 1, hidden: 3, capacityFactor: Infinity, evalCapacityFactor: Infinity }).eval();
    const x = tf.randomNormal([32, 4], 0, 1, "float32", 8);
    const { layer, groups } = mergeMoE(moe, x, { numGroups: 2 });
    expect(layer.expertMap.length).toBe(4);
    expect(Array.from(layer.expertMap)).toEqual(Array.from(groups.labels));
    // Build the reference: a 4-expert layer whose experts are the merged ones, looked up per label.
    const merged = readExperts(layer.experts);
    const ref = new MoEFeedForward(4, { ...moe.options }).eval();
    ref.loadStateDict(new Map(moe.namedParameters().filter(([n]) => n.startsWith("router."))), { strict: false });
    writeExperts(ref.experts, Array.from(groups.labels, (g) => merged[g]!));
    expect(maxAbsDiff(layer.call(x), ref.call(x))).toBeLessThan(1e-6);
    tf.dispose(x);
    [moe, layer, ref].forEach((m) => m.dispose());
  });
  it("compression error falls as the rank grows and the parameter count is reported", () => {
    manualSeed(14);
    const moe = new MoEFeedForward(8, { experts: 2, topK: 1, hidden: 6, bias: false });
    const errs: number[] = [];
    for (const rank of [1, 3, 6]) {
      const copy = new MoEFeedForward(8, { ...moe.options });
      copy.loadStateDict(moe.stateDict());
      const rep = compressMoE(copy, { rank });
      expect(rep.expertParamsBefore).toBe(2 * 2 * 8 * 6);
      expect(rep.expertParamsAfter).toBe(2 * 2 * rank * (8 + 6));
      errs.push(Math.max(...rep.relativeErrors));
      copy.dispose();
    }
    expect(errs[1]!).toBeLessThan(errs[0]!);
    expect(errs[2]!).toBeLessThan(1e-6);
    moe.dispose();
  });
  it("rejects an expert map with gaps", () => {
    expect(() => new MoEFeedForward(4, { experts: 3, hidden: 2, topK: 1, expertMap: [0, 2, 2] })).toThrow(ConfigError);
  });
});
