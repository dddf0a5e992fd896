import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { groupedInnerProducts, groupedKernelsActive, groupedMatMul, segmentSum } from "../../src/engine/grouped.js";
import { ShapeError } from "../../src/errors.js";

beforeAll(async () => {
  await initBackend();
});
afterAll(async () => {
  await tf.setBackend("wasm");
});

const counts = [3, 0, 5, 2];
const [N, K, M, E] = [10, 7, 6, 4];

/** Row-major float64 reference of the per-group products. */
function reference(a: Float32Array, b: Float32Array, bias: Float32Array | null, transposeB: boolean): Float64Array {
  const out = new Float64Array(N * M);
  let r = 0;
  counts.forEach((c, e) => {
    for (const end = r + c; r < end; r++) {
      for (let m = 0; m < M; m++) {
        let s = bias ? bias[e * M + m]! : 0;
        for (let k = 0; k < K; k++) s += a[r * K + k]! * b[transposeB ? e * M * K + m * K + k : e * K * M + k * M + m]!;
        out[r * M + m] = s;
      }
    }
  });
  return out;
}

function expectClose(actual: tf.Tensor, expected: ArrayLike<number>, tol = 1e-5): void {
  const got = actual.dataSync();
  expect(got.length).toBe(expected.length);
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - expected[i]!), `element ${i}`).toBeLessThan(tol);
}

function checkAll(): void {
  const a = tf.randomNormal([N, K], 0, 1, "float32", 1) as tf.Tensor2D;
  const b = tf.randomNormal([E, K, M], 0, 1, "float32", 2) as tf.Tensor3D;
  const bt = tf.randomNormal([E, M, K], 0, 1, "float32", 3) as tf.Tensor3D;
  const bias = tf.randomNormal([E, M], 0, 1, "float32", 4) as tf.Tensor2D;
  const g = tf.randomNormal([N, M], 0, 1, "float32", 5) as tf.Tensor2D;
  const before = tf.memory().numTensors;
  const [av, bv, btv, biasv, gv] = [a, b, bt, bias, g].map((t) => t.dataSync() as Float32Array) as Float32Array[];
  const y = groupedMatMul(a, b, counts);
  expectClose(y, reference(av!, bv!, null, false));
  const yb = groupedMatMul(a, b, counts, { bias });
  expectClose(yb, reference(av!, bv!, biasv!, false));
  const yt = groupedMatMul(a, bt, counts, { transposeB: true });
  expectClose(yt, reference(av!, btv!, null, true));
  // inner: out[e][k][m] = Σ_rows a[r][k]·g[r][m]; the empty group 1 is exactly zero.
  const inner = groupedInnerProducts(a, g, counts);
  const ref = new Float64Array(E * K * M);
  const sums = new Float64Array(E * M);
  let r = 0;
  counts.forEach((c, e) => {
    for (const end = r + c; r < end; r++) {
      for (let m = 0; m < M; m++) {
        sums[e * M + m] += gv![r * M + m]!;
        for (let k = 0; k < K; k++) ref[(e * K + k) * M + m] += av![r * K + k]! * gv![r * M + m]!;
      }
    }
  });
  expect(inner.shape).toEqual([E, K, M]);
  expectClose(inner, ref);
  expect(Array.from(inner.dataSync().subarray(K * M, 2 * K * M)).every((v) => v === 0)).toBe(true);
  // A wide left operand takes the other orientation (b's groups transposed, the result transposed back).
  const wide = tf.randomNormal([N, 40], 0, 1, "float32", 8) as tf.Tensor2D;
  const narrow = tf.randomNormal([N, 2], 0, 1, "float32", 9) as tf.Tensor2D;
  const [wv, nv] = [wide.dataSync(), narrow.dataSync()];
  const refWide = new Float64Array(E * 40 * 2);
  r = 0;
  counts.forEach((c, e) => {
    for (const end = r + c; r < end; r++) for (let k = 0; k < 40; k++) for (let m = 0; m < 2; m++) refWide[(e * 40 + k) * 2 + m] += wv[r * 40 + k]! * nv[r * 2 + m]!;
  });
  const innerWide = groupedInnerProducts(wide, narrow, counts);
  expect(innerWide.shape).toEqual([E, 40, 2]);
  expectClose(innerWide, refWide);
  tf.dispose([wide, narrow, innerWide]);
  const summed = segmentSum(g, counts);
  expectClose(summed, sums);
  tf.dispose([y, yb, yt, inner, summed]);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([a, b, bt, bias, g]);
}

describe("grouped products (per-expert rows)", () => {
  it("match per-group float64 products, bias, transposed weights, inner products and sums (wasm kernel)", () => {
    expect(groupedKernelsActive()).toBe(true);
    checkAll();
  });

  it("give the same results from tfjs ops on another backend (cpu)", async () => {
    await tf.setBackend("cpu");
    expect(groupedKernelsActive()).toBe(false);
    checkAll();
    await tf.setBackend("wasm");
  });

  it("have the gradients that autodiff of per-group slices gives (wasm kernels vs cpu ops)", async () => {
    const grads = (): number[][] => {
      const a = tf.randomNormal([N, K], 0, 1, "float32", 21) as tf.Tensor2D;
      const b = tf.randomNormal([E, K, M], 0, 1, "float32", 22) as tf.Tensor3D;
      const bias = tf.randomNormal([E, M], 0, 1, "float32", 23) as tf.Tensor2D;
      const g = tf.randomNormal([N, M], 0, 1, "float32", 24) as tf.Tensor2D;
      const cotRows = tf.randomNormal([N, M], 0, 1, "float32", 25);
      const cotInner = tf.randomNormal([E, K, M], 0, 1, "float32", 26);
      const cotSum = tf.randomNormal([E, M], 0, 1, "float32", 27);
      const loss = (aa: tf.Tensor, bb: tf.Tensor, cc: tf.Tensor, gg: tf.Tensor): tf.Scalar =>
        tf.addN([
          tf.sum(tf.mul(groupedMatMul(aa as tf.Tensor2D, bb as tf.Tensor3D, counts, { bias: cc as tf.Tensor2D }), cotRows)),
          tf.sum(tf.mul(groupedInnerProducts(aa as tf.Tensor2D, gg as tf.Tensor2D, counts), cotInner)),
          tf.sum(tf.mul(segmentSum(gg as tf.Tensor2D, counts), cotSum)),
        ]) as tf.Scalar;
      const gs = tf.grads(loss)([a, b, bias, g]);
      const out = gs.map((t) => Array.from(t.dataSync()));
      tf.dispose([...gs, a, b, bias, g, cotRows, cotInner, cotSum]);
      return out;
    };
    const before = tf.memory().numTensors;
    const onWasm = grads();
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend("cpu");
    const onCpu = grads();
    await tf.setBackend("wasm");
    onWasm.forEach((g, i) => g.forEach((v, j) => expect(Math.abs(v - onCpu[i]![j]!), `input ${i} element ${j}`).toBeLessThan(1e-4)));
  });

  it("equal one product per group bit for bit at sizes that use the thread pool", () => {
    const cs = [300, 517, 0, 229];
    const n = cs.reduce((s, c) => s + c, 0);
    const a = tf.randomNormal([n, 128], 0, 1, "float32", 6) as tf.Tensor2D;
    const b = tf.randomNormal([4, 128, 256], 0, 1, "float32", 7) as tf.Tensor3D;
    const y = groupedMatMul(a, b, cs);
    const parts = tf.tidy(() => {
      let off = 0;
      return tf.concat(cs.map((c, e) => {
        const part = tf.matMul(tf.slice(a, off, c), tf.squeeze(tf.slice(b, e, 1), [0]) as tf.Tensor2D);
        off += c;
        return part;
      }));
    });
    expect(Array.from(y.dataSync())).toEqual(Array.from(parts.dataSync()));
    tf.dispose([a, b, y, parts]);
  });

  it("sum each group's columns in float64 row after row, bit for bit, in SIMD column blocks of 16 and 4 and a JS tail", () => {
    const cs = [13, 0, 70, 1];
    const n = cs.reduce((s, c) => s + c, 0);
    for (const width of [38, 48, 3]) {
      const x = tf.randomNormal([n, width], 0, 1, "float32", 31) as tf.Tensor2D;
      const xv = tf.tidy(() => tf.mul(x, tf.exp(tf.mul(x, 4)))).dataSync(); // a wide range of magnitudes
      const xs = tf.tensor2d(xv, [n, width]);
      const want = new Float32Array(cs.length * width);
      let r = 0;
      cs.forEach((c, e) => {
        const acc = new Float64Array(width);
        for (const end = r + c; r < end; r++) for (let j = 0; j < width; j++) acc[j] += xv[r * width + j]!;
        want.set(acc, e * width);
      });
      const got = segmentSum(xs, cs);
      expect(Array.from(got.dataSync()), `width ${width}`).toEqual(Array.from(want));
      tf.dispose([x, xs, got]);
    }
  });

  it("reject group sizes that do not cover the rows, and mismatched weights", () => {
    const a = tf.zeros([5, 3]) as tf.Tensor2D;
    const b = tf.zeros([2, 3, 4]) as tf.Tensor3D;
    expect(() => groupedMatMul(a, b, [2, 2])).toThrow(ShapeError);
    expect(() => groupedMatMul(a, b, [6, -1])).toThrow(ShapeError);
    expect(() => groupedMatMul(a, b, [5])).toThrow(ShapeError);
    expect(() => groupedMatMul(a, b, [2, 3], { bias: tf.zeros([2, 3]) as tf.Tensor2D })).toThrow(ShapeError);
    expect(() => groupedInnerProducts(a, tf.zeros([4, 2]) as tf.Tensor2D, [2, 3])).toThrow(ShapeError);
    expect(() => segmentSum(a, [1, 1])).toThrow(ShapeError);
    tf.dispose([a, b]);
  });
});
