import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { installFastKernels, removeFastKernels } from "../../src/engine/kernels.js";
import { installFastMatMul, removeFastMatMul } from "../../src/engine/matmul.js";
import { Rng } from "../../src/engine/random.js";

const rng = new Rng(3);
const randFrom = (r: Rng) => (shape: number[]): tf.Tensor => tf.tensor(r.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
const rand = randFrom(rng);
/** For the tile test: its own stream, so the other tests' values stay as they were. */
const randPad = randFrom(new Rng(17));

/** Runs `f` with the stock wasm kernels and with neurocode's, and returns both results' values. */
function both(f: () => tf.Tensor): [Float32Array, Float32Array, number[], number[]] {
  removeFastMatMul();
  removeFastKernels();
  const a = f();
  installFastMatMul();
  installFastKernels();
  const b = f();
  const out: [Float32Array, Float32Array, number[], number[]] = [a.dataSync() as Float32Array, b.dataSync() as Float32Array, a.shape, b.shape];
  tf.dispose([a, b]);
  return out;
}

function expectSame(f: () => tf.Tensor, tol: number): void {
  const [want, got, ws, gs] = both(f);
  expect(gs).toEqual(ws);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - got[i]!));
  expect(worst).toBeLessThanOrEqual(tol);
}

beforeAll(async () => {
  expect(await initBackend()).toBe("wasm");
});

describe("wasm kernel overrides give the stock kernels' results", () => {
  it("matMul: transposed, batched, broadcast and shared right operands", () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[7, 5], [5, 3], false, false],
      [[5, 7], [5, 3], true, false],
      [[7, 5], [3, 5], false, true],
      [[5, 7], [3, 5], true, true],
      [[4, 7, 5], [4, 5, 3], false, false],
      [[2, 3, 7, 5], [2, 3, 3, 5], false, true],
      [[2, 3, 5, 7], [2, 3, 5, 3], true, false],
      [[4, 7, 5], [5, 3], false, false],
      [[1, 7, 5], [4, 5, 3], false, false],
      [[2, 1, 7, 5], [2, 3, 5, 3], false, false],
      // Aᵀ·B with a narrow B, computed as (Bᵀ·A)ᵀ: plain, batched, either side broadcast, partial broadcast
      [[40, 30], [40, 4], true, false],
      [[3, 40, 30], [3, 40, 4], true, false],
      [[40, 30], [3, 40, 4], true, false],
      [[3, 40, 30], [40, 4], true, false],
      [[2, 1, 40, 30], [2, 3, 40, 4], true, false],
      // and a short Aᵀ·B with the wider B, swapped so that the smaller operand is packed
      [[2, 16, 8], [2, 16, 12], true, false],
      [[16, 8], [3, 16, 12], true, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = rand(sa);
      const b = rand(sb);
      expectSame(() => tf.matMul(a, b, ta, tb), 1e-5);
      tf.dispose([a, b]);
    }
  });

  it("matMul keeps a right operand packed only while its data lives, and per shape", () => {
    // Reference products on the cpu backend's arithmetic: plain loops over the host values.
    const ref = (a: tf.Tensor, b: tf.Tensor): Float32Array => {
      const [M, K] = a.shape as [number, number];
      const N = b.shape[1]!;
      const av = a.dataSync();
      const bv = b.dataSync();
      const out = new Float32Array(M * N);
      for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) out[i * N + j] += av[i * K + k]! * bv[k * N + j]!;
      return out;
    };
    const close = (got: tf.Tensor, want: Float32Array): void => {
      const g = got.dataSync();
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(g[i]! - want[i]!));
      expect(worst).toBeLessThan(1e-4);
      got.dispose();
    };
    const a = rand([6, 12]);
    for (let round = 0; round < 20; round++) {
      // A fresh weight each round, freed after use: its memory is reused by the next one,
      // whose values differ; a stale packed copy would give the previous round's product.
      const w = rand([12, 8]);
      close(tf.matMul(a, w), ref(a, w));
      close(tf.matMul(a, w), ref(a, w)); // second use: the kept packing
      // The same data as another shape (a reshape shares it) is packed separately.
      const w2 = tf.reshape(w, [12 * 8 / 16, 16]);
      const a2 = rand([3, 6]);
      close(tf.matMul(a2, w2), ref(a2, w2));
      tf.dispose([w, w2, a2]);
    }
    a.dispose();
  });

  it("transpose: every permutation of a rank-4 tensor, int32 and rank 2", () => {
    const x = rand([3, 4, 5, 6]);
    const perms = [[0, 1, 3, 2], [3, 2, 1, 0], [1, 0, 2, 3], [2, 0, 3, 1], [0, 2, 1, 3]];
    for (const p of perms) expectSame(() => tf.transpose(x, p), 0);
    const i = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], "int32");
    expect(Array.from(tf.transpose(i).dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    const big = rand([70, 45]);
    expectSame(() => tf.transpose(big), 0);
    // Whole 16×4 blocks take the SIMD path: a batch of matrices, one matrix, int32 bits
    const blocks = rand([3, 2, 32, 12]);
    expectSame(() => tf.transpose(blocks, [0, 1, 3, 2]), 0);
    const wide = rand([48, 20]);
    expectSame(() => tf.transpose(wide), 0);
    const ints = tf.tensor2d(Int32Array.from({ length: 16 * 8 }, (_, k) => k * 7919 - 2 ** 30), [16, 8], "int32");
    expect(Array.from(tf.transpose(ints).dataSync())).toEqual(Array.from({ length: 128 }, (_, k) => ((k % 16) * 8 + Math.floor(k / 16)) * 7919 - 2 ** 30));
    tf.dispose([x, i, big, blocks, wide, ints]);
  });

  it("slice (contiguous and strided, int32) and unstack along every axis", () => {
    const x = rand([4, 5, 6]);
    expectSame(() => tf.slice(x, [1, 0, 0], [2, -1, -1]), 0);
    expectSame(() => tf.slice(x, [1, 2, 3], [3, 2, 3]), 0);
    expectSame(() => tf.slice(x, [0, 0, 5], [-1, -1, 1]), 0);
    for (const axis of [0, 1, 2]) for (let i = 0; i < x.shape[axis]!; i++) expectSame(() => tf.tidy(() => tf.unstack(x, axis)[i]!), 0);
    const n = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], "int32");
    expect(Array.from(tf.slice(n, [0, 1], [2, 2]).dataSync())).toEqual([2, 3, 5, 6]);
    tf.dispose([x, n]);
  });

  it("split into equal and uneven pieces along any axis; clone shares data but stays independent", () => {
    const x = rand([4, 6, 3]);
    for (const axis of [0, 1, 2]) {
      const n = x.shape[axis]!;
      for (let i = 0; i < n; i++) expectSame(() => tf.tidy(() => tf.split(x, n, axis)[i]!), 0);
    }
    for (let i = 0; i < 3; i++) expectSame(() => tf.tidy(() => tf.split(x, [1, 3, 2], 1)[i]!), 0);
    const c = x.clone();
    x.dispose();
    expect(c.shape).toEqual([4, 6, 3]);
    expect(c.dataSync().length).toBe(72);
    c.dispose();
  });

  it("gather along any axis, with repeated indices and index tensors of any rank", () => {
    const x = rand([5, 4, 70]);
    const idx = tf.tensor2d([[4, 0, 4], [1, 1, 2]], [2, 3], "int32");
    for (const axis of [0, 1]) expectSame(() => tf.gather(x, axis === 0 ? idx : tf.tensor1d([3, 0, 0], "int32"), axis), 0);
    expectSame(() => tf.gather(x, tf.tensor1d([69, 1], "int32"), 2), 0);
    expect(() => tf.gather(x, tf.tensor1d([5], "int32"))).toThrow(/not in \[0, 5\)/);
    tf.dispose([x, idx]);
  });

  it("tile along any axes (repeated blocks), broadcastTo, int32 and bool, rank 1 to 4", () => {
    const x = randPad([2, 3, 4]);
    for (const reps of [[1, 1, 1], [3, 1, 1], [1, 2, 1], [1, 1, 5], [2, 3, 2], [4, 1, 70]]) expectSame(() => tf.tile(x, reps), 0);
    const q = randPad([1, 16, 256]);
    expectSame(() => tf.tile(q, [8, 1, 1]), 0); // latent queries per token group
    expectSame(() => tf.broadcastTo(q.reshape([1, 1, 16, 256]), [2, 3, 16, 256]), 0);
    const v = randPad([5]);
    const w = randPad([2, 1, 3, 2]);
    expectSame(() => tf.tile(v, [3]), 0);
    expectSame(() => tf.tile(w, [1, 4, 1, 3]), 0);
    expectSame(() => tf.tile(tf.tensor2d([[1, 2, 3]], [1, 3], "int32"), [4, 2]).toFloat(), 0);
    expectSame(() => tf.tile(tf.tensor1d([true, false], "bool"), [3]).toFloat(), 0);
    expectSame(() => tf.tile(tf.zeros([0, 3]), [2, 2]), 0);
    tf.dispose([x, q, v, w]);
  });

  it("sum over leading and middle axes (bias gradients) and other axes", () => {
    const x = rand([6, 5, 4]);
    expectSame(() => tf.sum(x, 0), 1e-5);
    expectSame(() => tf.sum(x, [0, 1]), 1e-5);
    expectSame(() => tf.sum(x, [0, 1], true), 1e-5);
    expectSame(() => tf.sum(x, 1), 1e-5);
    expectSame(() => tf.sum(x, -1), 1e-5);
    expectSame(() => tf.sum(x), 1e-5);
    const y = rand([3, 4, 5, 6, 2]);
    expectSame(() => tf.sum(y, 1), 1e-5); // a middle axis: expert bias gradients
    expectSame(() => tf.sum(y, [1, 2]), 1e-5);
    expectSame(() => tf.sum(y, [2, 3], true), 1e-5);
    expectSame(() => tf.sum(y, [1, 3]), 1e-5); // not contiguous: the stock kernel
    expectSame(() => tf.sum(y, [0, 1, 2, 3]), 1e-5);
    const tall = rand([1027, 33]); // rows in fours plus a remainder of three
    expectSame(() => tf.sum(tall, 0), 2e-4);
    tf.dispose([x, y, tall]);
  });
});
