import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { splitHeads } from "../../src/engine/heads.js";

beforeAll(async () => {
  expect(await initBackend()).toBe("wasm");
});

/** The same split from tfjs ops: reshape, transpose, unstack, scale. */
function composite(qkv: tf.Tensor, heads: number, scale: number): tf.Tensor[] {
  const [N, L, E3] = qkv.shape as [number, number, number];
  const [q, k, v] = tf.unstack(qkv.reshape([N, L, 3, heads, E3 / 3 / heads]).transpose([2, 0, 3, 1, 4]));
  return [tf.mul(q!, scale), k!.transpose([0, 1, 3, 2]), v!];
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe("splitHeads (one pass each way on wasm)", () => {
  // The JS loop (any shape) and the SIMD passes (L and d multiples of 16).
  it.each([
    [3, 5, 2, 4],
    [2, 32, 3, 16],
  ])("N=%i L=%i H=%i d=%i: q·scale, kᵀ and v per head exactly as the composite gives them, and their gradients", (N, L, H, d) => {
    const qkv = tf.randomNormal([N, L, 3 * H * d], 0, 1, "float32", 5);
    const cots = [[N, H, L, d], [N, H, d, L], [N, H, L, d]].map((s, i) => tf.randomNormal(s, 0, 1, "float32", 10 + i));
    const before = tf.memory().numTensors;
    const got = splitHeads(qkv, H, 0.3);
    const want = tf.tidy(() => composite(qkv, H, 0.3));
    expect(got.map((t) => t.shape)).toEqual([[N, H, L, d], [N, H, d, L], [N, H, L, d]]);
    got.forEach((t, i) => expect(maxDiff(t, want[i]!)).toBe(0));
    // A known element: head 1's key component 2 at position 3 of the last batch item.
    const packed = qkv.arraySync() as number[][][];
    expect((got[1]!.arraySync() as number[][][][])[N - 1]![1]![2]![3]).toBe(packed[N - 1]![3]![H * d + 1 * d + 2]);
    tf.dispose([...got, ...want]);
    const loss = (f: (t: tf.Tensor) => tf.Tensor[]) => (t: tf.Tensor): tf.Scalar =>
      tf.addN(f(t).map((o, i) => tf.sum(tf.mul(o, cots[i]!)))) as tf.Scalar;
    const g = tf.grad(loss((t) => splitHeads(t, H, 0.3)))(qkv);
    const gw = tf.grad(loss((t) => composite(t, H, 0.3)))(qkv);
    expect(maxDiff(g, gw)).toBe(0);
    tf.dispose([g, gw]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([qkv, ...cots]);
  });

  it("passes zeros back for outputs that do not reach the loss", () => {
    const qkv = tf.randomNormal([2, 3, 12], 0, 1, "float32", 6);
    const g = tf.grad((t: tf.Tensor) => tf.sum(splitHeads(t, 2, 1)[2]!))(qkv).arraySync() as number[][][];
    // Only the value third of each packed row receives gradient.
    for (const row of g.flat()) expect(row).toEqual([...new Array<number>(8).fill(0), 1, 1, 1, 1]);
    qkv.dispose();
  });
});
