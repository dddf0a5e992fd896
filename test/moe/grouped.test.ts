import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { groupedKernelsActive } from "../../src/engine/grouped.js";
import { manualSeed } from "../../src/engine/random.js";
import { MoEFeedForward, type MoEOptions } from "../../src/moe/layer.js";

beforeAll(async () => {
  await initBackend();
});

/** Output, loss, d(input) and every parameter gradient of one MoE forward/backward on `x`. */
function run(layer: MoEFeedForward, x: tf.Tensor, target: tf.Tensor): { values: Record<string, Float32Array>; dropped: number; kept: number[] } {
  const params = layer.trainableParameters();
  const names = [...layer.namedParameters().keys()];
  let dropped = 0;
  let kept: number[] = [];
  const f = (xi: tf.Tensor, ...ps: tf.Tensor[]): tf.Scalar => {
    void ps;
    const out = layer.forwardWithAux(xi);
    dropped = out.load.droppedFraction.dataSync()[0]!;
    kept = Array.from(out.load.kept.dataSync());
    return tf.add(tf.sum(tf.mul(out.output, target)), out.loss) as tf.Scalar;
  };
  const { value, grads } = tf.tidy(() => tf.valueAndGrads(f)([x, ...params]));
  const values: Record<string, Float32Array> = { loss: value.dataSync() as Float32Array, dx: grads[0]!.dataSync() as Float32Array };
  const y = tf.tidy(() => layer.forwardWithAux(x).output);
  values.y = y.dataSync() as Float32Array;
  names.forEach((n, i) => (values[`d ${n}`] = grads[i + 1]!.dataSync() as Float32Array));
  tf.dispose([value, ...grads, y]);
  return { values, dropped, kept };
}

describe("packed expert slots (grouped products)", () => {
  // [name, options, experts switched off, tokens, width, expert hidden]
  const cases: [string, Partial<MoEOptions>, number[], number, number, number][] = [
    ["empty slots (cf 2)", { capacityFactor: 2 }, [], 120, 16, 24],
    ["dropped tokens (cf 0.5)", { capacityFactor: 0.5 }, [], 120, 16, 24],
    ["an expert with no tokens", { capacityFactor: 1.25 }, [2], 120, 16, 24],
    ["SwiGLU experts without bias, drops", { capacityFactor: 0.75, glu: true, bias: false }, [], 120, 16, 24],
    ["8 experts, products on one thread", { experts: 8, capacityFactor: 1.25 }, [], 1024, 64, 192],
    ["8 experts, products large enough for the thread pool", { experts: 8, capacityFactor: 1.25 }, [], 2048, 128, 512],
    // Merged experts: both choices of a token can land on one expert FFN (two rows of the same token).
    ["an expert map (4 choices → 2 experts), shared expert, drops", { expertMap: [0, 1, 1, 0], sharedHidden: 8, capacityFactor: 0.5 }, [], 120, 16, 24],
  ];
  for (const [name, opts, off, tokens, d, h] of cases) {
    it(`gives bit-identical outputs and gradients to the padded slots: ${name}`, () => {
      expect(groupedKernelsActive()).toBe(true);
      manualSeed(11);
      const layer = new MoEFeedForward(d, { experts: 4, topK: 2, hidden: h, ...opts });
      if (off.length) layer.router.setMask({ off });
      const x = tf.randomNormal([tokens / 8, 8, d]);
      const target = tf.randomNormal([tokens / 8, 8, d]);
      const before = tf.memory().numTensors;
      layer.packSlots = false;
      const padded = run(layer, x, target);
      layer.packSlots = true;
      const packed = run(layer, x, target);
      expect(tf.memory().numTensors).toBe(before);
      // The case is what its name says: some slots empty (or an expert idle), or some assignments dropped.
      const cap = Math.ceil(((2 * tokens) / layer.experts.numExperts) * (opts.capacityFactor ?? 1.25));
      if (name.includes("drop")) expect(padded.dropped).toBeGreaterThan(0);
      else expect(Math.min(...padded.kept)).toBeLessThan(cap);
      if (off.length) expect(padded.kept[off[0]!]).toBe(0);
      expect(packed.kept).toEqual(padded.kept);
      for (const k of Object.keys(padded.values)) expect(Array.from(packed.values[k]!), k).toEqual(Array.from(padded.values[k]!));
      tf.dispose([x, target]);
    });
  }
});
