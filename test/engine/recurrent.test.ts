import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { Rng } from "../../src/engine/random.js";
import { lstmFusable, lstmLayerFused } from "../../src/engine/recurrent.js";
import { LSTM } from "../../src/nn/lstm.js";

const rng = new Rng(11);
const rand = (shape: number[], std = 1): tf.Tensor => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1), 0, std), shape);

/**
 * The op-by-op path, `nn/lstm.ts` itself, run on xw [N, T, 4H]: input weights
 * the identity (an exact product), biases b_ih = bias[0], b_hh = bias[1], W_hh = whhTᵀ → [N, T, H].
 */
function reference(xw: tf.Tensor, whhT: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const G = xw.shape[2]!;
  const lstm = new LSTM(G, G / 4, { batchFirst: true });
  tf.tidy(() => {
    const [bih, bhh] = tf.unstack(bias);
    lstm.loadStateDict({ weight_ih_l0: tf.eye(G), weight_hh_l0: tf.transpose(whhT), bias_ih_l0: bih!, bias_hh_l0: bhh! });
  });
  const { output, h, c } = lstm.call(xw);
  tf.dispose([h, c]);
  lstm.dispose();
  return output;
}

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

beforeAll(async () => {
  expect(await initBackend()).toBe("wasm");
});

describe("fused LSTM layer (inference)", () => {
  it("matches the op-by-op recurrence within 1e-6 (shapes, saturated and near-zero gates)", () => {
    for (const [N, T, H, xs, ws] of [[3, 5, 8, 1, 0.3], [1, 1, 4, 2, 0.5], [64, 8, 256, 1, 0.06], [7, 4, 12, 40, 1], [5, 6, 16, 1e-3, 1e-3]] as const) {
      const xw = rand([N, T, 4 * H], xs);
      const whhT = rand([H, 4 * H], ws);
      const bias = rand([2, 4 * H], xs);
      const before = tf.memory().numTensors;
      const got = lstmLayerFused(xw, whhT, bias)!;
      expect(tf.memory().numTensors).toBe(before + 1);
      const want = reference(xw, whhT, bias);
      expect(maxAbs(got, want), `N ${N} T ${T} H ${H} scale ${xs}`).toBeLessThanOrEqual(1e-6);
      tf.dispose([xw, whhT, bias, got, want]);
    }
  });

  it("σ and tanh per lane: saturation at ±100, ±Inf-free, tiny and mid-range values", () => {
    // One step, no recurrence: h = σ(o)·tanh(σ(i)·tanh(g)), with each gate set from a grid.
    const grid = [-100, -20, -5, -1, -0.3, -0.25, -0.2499, -1e-3, -1e-20, 0, 1e-20, 1e-3, 0.2499, 0.25, 0.3, 1, 5, 20, 100, 88, -88, 87.5, -87.5, 3];
    const H = grid.length;
    for (const gate of [0, 1, 2, 3]) {
      const rows = Array.from({ length: 4 * H }, (_, j) => (Math.floor(j / H) === gate ? grid[j % H]! : 0.7));
      const xw = tf.tensor3d(rows, [1, 1, 4 * H]);
      const whhT = tf.zeros([H, 4 * H]);
      const bias = tf.zeros([2, 4 * H]);
      const got = lstmLayerFused(xw, whhT, bias)!;
      const want = reference(xw, whhT, bias);
      expect(maxAbs(got, want), `gate ${gate}`).toBeLessThanOrEqual(2e-7);
      expect(Array.from(got.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([xw, whhT, bias, got, want]);
    }
  });

  it("declines what it does not cover (H not a multiple of 4, wrong gate or bias width, int32)", () => {
    const a = tf.zeros([2, 3, 4 * 6]);
    const w = tf.zeros([6, 24]);
    const b24 = tf.zeros([2, 24]);
    expect(lstmLayerFused(a, w, b24)).toBeNull();
    const b = tf.zeros([2, 3, 12]);
    const w4 = tf.zeros([4, 16]);
    const b16 = tf.zeros([2, 16]);
    expect(lstmLayerFused(b, w4, b16)).toBeNull();
    const c = tf.zeros([2, 3, 16], "int32");
    expect(lstmLayerFused(c, w4, b16)).toBeNull();
    const d = tf.zeros([2, 3, 16]);
    expect(lstmLayerFused(d, w4, b24)).toBeNull();
    expect([lstmFusable(w), lstmFusable(w4)]).toEqual([false, true]);
    tf.dispose([a, w, b24, b, w4, b16, c, d]);
  });
});
