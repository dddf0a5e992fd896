import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { GELU_CONSTANTS } from "../../src/engine/fused.js";
import { transposeInto } from "../../src/engine/kernels.js";
import { geluSimd, rowCopySimd, transposeSimd } from "../../src/engine/simd.js";

beforeAll(async () => {
  expect(await initBackend()).toBe("wasm");
});

describe("SIMD kernels assembled at run time", () => {
  it("GELU on a memory of its own: value and derivative against tfjs's erf composite, outside the blocks untouched", () => {
    const n = 4096;
    const memory = sharedMemory();
    const heap = new Float32Array(memory.buffer);
    const x = Float32Array.from({ length: n }, (_, i) => -10 + (20 * i) / n);
    heap.set(x);
    heap.fill(7, n); // sentinels after each region
    const gelu = geluSimd(memory, GELU_CONSTANTS);
    expect(gelu).not.toBeNull();
    gelu!(0, 4 * (n + 4), 4 * (2 * n + 8), 4 * (n - 4)); // all but the last block of four
    const y = heap.slice(n + 4, 2 * n + 4);
    const d = heap.slice(2 * n + 8, 3 * n + 8);
    const xt = tf.tensor1d(x);
    const composite = (t: tf.Tensor): tf.Tensor => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
    const want = tf.tidy(() => composite(xt).dataSync());
    const wantD = tf.tidy(() => tf.grad(composite)(xt).dataSync());
    for (let i = 0; i < n - 4; i++) {
      expect(Math.abs(y[i]! - want[i]!)).toBeLessThanOrEqual(1.2e-7 * Math.max(1, Math.abs(x[i]!)));
      expect(Math.abs(d[i]! - wantD[i]!)).toBeLessThanOrEqual(2e-7);
    }
    expect(Array.from(y.subarray(n - 4))).toEqual([7, 7, 7, 7]);
    expect(Array.from(d.subarray(n - 4))).toEqual([7, 7, 7, 7]);
    xt.dispose();
  });

  it("transposes a batch of matrices by 4×4 blocks, sixteen rows at a time, writing nothing outside the output", () => {
    const memory = sharedMemory();
    const heap = new Float32Array(memory.buffer);
    const [batch, R, C] = [3, 32, 12];
    const n = batch * R * C;
    for (let i = 0; i < n; i++) heap[i] = i + 0.5;
    heap.fill(7, n, 2 * n + 8);
    const transpose = transposeSimd(memory);
    expect(transpose).not.toBeNull();
    transpose!(0, 4 * (n + 4), batch, R, C, 4 * C, 4 * R * C, 4 * R, 4 * R * C);
    const want = new Float32Array(n);
    transposeInto(heap.subarray(0, n), [batch, R, C], [0, 2, 1], want);
    expect(Array.from(heap.subarray(n + 4, 2 * n + 4))).toEqual(Array.from(want));
    expect(Array.from(heap.subarray(n, n + 4))).toEqual([7, 7, 7, 7]);
    expect(Array.from(heap.subarray(2 * n + 4, 2 * n + 8))).toEqual([7, 7, 7, 7]);
  });
});

describe("SIMD strided row copy", () => {
  it("copies scaled rows between strided layouts, rounding each product once as a float32 multiply", () => {
    const memory = sharedMemory();
    const heap = new Float32Array(memory.buffer);
    // 5 rows of 8 floats, 12 apart at the source, 8 apart (contiguous) at the destination from float 100
    for (let i = 0; i < 60; i++) heap[i] = 1 + i / 7;
    heap.fill(-1, 100, 150);
    const copy = rowCopySimd(memory);
    expect(copy).not.toBeNull();
    copy!(4 * 2, 4 * 100, 5, 8, 4 * 12, 4 * 8, 0.3);
    const s = Math.fround(0.3);
    for (let r = 0; r < 5; r++) for (let c = 0; c < 8; c++) expect(heap[100 + r * 8 + c]).toBe(Math.fround(heap[2 + r * 12 + c]! * s));
    expect(heap[140]).toBe(-1);
  });
});

function sharedMemory(): { buffer: ArrayBuffer } {
  const api = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBuffer } } }).WebAssembly;
  return new api.Memory({ initial: 1, maximum: 16, shared: true });
}
