import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { RotaryEmbedding, SelfAttention, SinusoidalPositionalEncoding, sinusoidalTable } from "../../src/nn/index.js";

beforeAll(async () => {
  await initBackend();
});

describe("positions and self-attention", () => {
  it("sinusoidal table: sin on even, cos on odd columns of p / 10000^(2i/d)", () => {
    const t = sinusoidalTable(5, 8);
    const v = t.arraySync() as number[][];
    for (let p = 0; p < 5; p++) {
      for (let i = 0; i < 4; i++) {
        const a = p / Math.pow(10000, (2 * i) / 8);
        expect(v[p]![2 * i]).toBeCloseTo(Math.sin(a), 6);
        expect(v[p]![2 * i + 1]).toBeCloseTo(Math.cos(a), 6);
      }
    }
    const enc = new SinusoidalPositionalEncoding(8, 16);
    const x = tf.zeros([2, 5, 8]);
    const y = enc.call(x);
    expect(Array.from(tf.slice(y, [1, 0, 0], [1, 5, 8]).dataSync())).toEqual(Array.from(t.dataSync()));
    tf.dispose([t, x, y]);
    enc.dispose();
  });

  it("rotary: relative positions only (⟨R_p q, R_s k⟩ depends on s − p) and norms kept", () => {
    const rope = new RotaryEmbedding(8);
    const q = tf.randomNormal([1, 8], 0, 1, "float32", 1);
    const k = tf.randomNormal([1, 8], 0, 1, "float32", 2);
    const dot = (p: number, s: number): number =>
      tf.tidy(() => tf.sum(tf.mul(rope.call(q.reshape([1, 1, 8]), p), rope.call(k.reshape([1, 1, 8]), s))).dataSync()[0]!);
    expect(dot(3, 7)).toBeCloseTo(dot(10, 14), 4);
    const r = rope.call(q.reshape([1, 1, 8]), 5);
    expect(tf.norm(r).dataSync()[0]).toBeCloseTo(tf.norm(q).dataSync()[0]!, 5);
    tf.dispose([q, k, r]);
  });

  it("causal SelfAttention with rotary positions: outputs never depend on later tokens", () => {
    const att = new SelfAttention(16, 4, { causal: true, rotary: new RotaryEmbedding(4) });
    const x = tf.randomNormal([2, 6, 16], 0, 1, "float32", 3);
    const g = tf.grad((inp: tf.Tensor) => tf.sum(tf.slice(att.call(inp), [0, 2, 0], [-1, 1, -1])))(x);
    const later = tf.abs(tf.slice(g, [0, 3, 0], [-1, -1, -1])).max().dataSync()[0];
    const earlier = tf.abs(tf.slice(g, [0, 0, 0], [-1, 3, -1])).max().dataSync()[0];
    expect(later).toBe(0);
    expect(earlier).toBeGreaterThan(0);
    tf.dispose([x, g]);
    att.dispose();
  });
});
