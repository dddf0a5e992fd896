import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { Dropout } from "../../src/nn/index.js";
import { ValueError } from "../../src/errors.js";

beforeAll(async () => {
  await initBackend();
});

describe("Dropout", () => {
  it("zeros a fraction p in training, scales the rest by 1/(1−p), is the identity in eval", () => {
    manualSeed(9);
    const d = new Dropout(0.25);
    const x = tf.ones([20000]);
    const y = d.call(x);
    const v = y.dataSync();
    const zeros = v.filter((a) => a === 0).length / v.length;
    expect(Math.abs(zeros - 0.25)).toBeLessThan(0.015);
    expect(v.every((a) => a === 0 || Math.abs(a - 1 / 0.75) < 1e-6)).toBe(true);
    d.eval();
    expect(d.call(x)).toBe(x);
    expect(() => new Dropout(1)).toThrow(ValueError);
    tf.dispose([x, y]);
  });
});
