import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { TensorLeakError, assertNoLeak, assertNoLeakAsync, liveTensors } from "../../src/engine/memory.js";

beforeAll(async () => {
  await initBackend();
});

describe("leak accounting", () => {
  it("passes tidy code, reports leaks and accepts declared new tensors", async () => {
    const x = tf.ones([3]);
    expect(assertNoLeak("tidy", () => tf.tidy(() => tf.sum(tf.mul(x, 2)).dataSync()[0]))).toBe(6);
    expect(() => assertNoLeak("leaky", () => tf.mul(x, 2))).toThrow(TensorLeakError);
    const kept = assertNoLeak("returns one", () => tf.mul(x, 3), 1);
    await expect(assertNoLeakAsync("async", async () => (await tf.tidy(() => tf.sum(x)).data())[0])).rejects.toThrow(TensorLeakError);
    const before = liveTensors();
    tf.dispose([kept]);
    expect(liveTensors()).toBe(before - 1);
    x.dispose();
  });
});
