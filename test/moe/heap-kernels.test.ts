import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { gatherOrZero } from "../../src/moe/dispatch.js";
import { combineRows, pickColumns, topKIndices } from "../../src/moe/heap-kernels.js";

beforeAll(async () => {
  await initBackend();
});
afterAll(async () => {
  await tf.setBackend("wasm");
});

describe("combineRows (gated sum of expert output rows)", () => {
  // 4 tokens, top-2, 5 rows of width 3: tokens 2 and 3 were dropped (slot 5 = N), row 4 holds no assignment.
  const slots = [0, 3, 2, 1, 5, 5, 5, 5];
  const rowsV = Array.from({ length: 15 }, (_, i) => Math.sin(i + 1));
  const wV = [0.7, 0.3, 0.6, 0.4, 1.0, 0.5, 0.2, 0.9];

  function evaluate(): { y: number[]; dRows: number[]; dW: number[] } {
    const rows = tf.tensor2d(rowsV, [5, 3]);
    const w = tf.tensor2d(wV, [4, 2]);
    const cot = tf.tensor2d(Array.from({ length: 12 }, (_, i) => Math.cos(i)), [4, 3]);
    const s = tf.tensor1d(slots, "int32");
    const before = tf.memory().numTensors;
    const y = combineRows(rows, w, s);
    const [dRows, dW] = tf.grads((r: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(combineRows(r as tf.Tensor2D, ww as tf.Tensor2D, s), cot)))([rows, w]);
    const out = { y: Array.from(y.dataSync()), dRows: Array.from(dRows!.dataSync()), dW: Array.from(dW!.dataSync()) };
    tf.dispose([y, dRows!, dW!]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([rows, w, cot, s]);
    return out;
  }

  it("sums each token's weighted rows, skips dropped assignments, and has the closed-form gradients", () => {
    const { y, dRows, dW } = evaluate();
    const sl = slots;
    const cot = Array.from({ length: 12 }, (_, i) => Math.cos(i));
    for (let t = 0; t < 4; t++) {
      for (let i = 0; i < 3; i++) {
        let want = 0;
        for (let j = 0; j < 2; j++) if (sl[t * 2 + j]! < 5) want += wV[t * 2 + j]! * rowsV[sl[t * 2 + j]! * 3 + i]!;
        expect(y[t * 3 + i]).toBeCloseTo(want, 6);
      }
    }
    // d rows: w·cot in each assigned row (each row holds one assignment), zero in unused rows.
    for (let a = 0; a < 8; a++) {
      if (sl[a]! >= 5) continue;
      for (let i = 0; i < 3; i++) expect(dRows[sl[a]! * 3 + i]).toBeCloseTo(wV[a]! * cot[Math.floor(a / 2) * 3 + i]!, 6);
    }
    expect(dRows.slice(12)).toEqual([0, 0, 0]);
    // d w: cot · row, zero for the dropped assignment.
    for (let a = 0; a < 8; a++) {
      const want = sl[a]! >= 5 ? 0 : [0, 1, 2].reduce((s, i) => s + cot[Math.floor(a / 2) * 3 + i]! * rowsV[sl[a]! * 3 + i]!, 0);
      expect(dW[a]).toBeCloseTo(want, 6);
    }
  });

  it("gives the same bits on cpu (host loops on copies) as on wasm (heap kernels)", async () => {
    const onWasm = evaluate();
    await tf.setBackend("cpu");
    const onCpu = evaluate();
    await tf.setBackend("wasm");
    expect(onCpu).toEqual(onWasm);
  });
});

describe("combineRows on widths the SIMD row kernels take (multiples of 4)", () => {
  // 7 tokens, top-3, 19 rows: assignments 4, 11, 15 and 20 dropped (an odd 17 kept, so one SIMD pair is a single), rows 17 and 18 unused.
  const [t, k, n] = [7, 3, 19];
  const dropped = [4, 11, 15, 20];
  let next = 0;
  const slots = Array.from({ length: t * k }, (_, a) => (dropped.includes(a) ? n : next++));

  function evaluate(d: number): number[][] {
    const rows = tf.tensor2d(Array.from({ length: n * d }, (_, i) => Math.sin(1.3 * i) * 10 ** ((i % 7) - 3)), [n, d]);
    const w = tf.tensor2d(Array.from({ length: t * k }, (_, i) => Math.cos(i) / 3), [t, k]);
    const cot = tf.tensor2d(Array.from({ length: t * d }, (_, i) => Math.sin(0.7 * i + 1)), [t, d]);
    const s = tf.tensor1d(slots, "int32");
    const y = combineRows(rows, w, s);
    const [dRows, dW] = tf.grads((r: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(combineRows(r as tf.Tensor2D, ww as tf.Tensor2D, s), cot)))([rows, w]);
    const out = [y, dRows!, dW!].map((x) => Array.from(x.dataSync()));
    tf.dispose([y, dRows!, dW!, rows, w, cot, s]);
    return out;
  }

  it("gives the same bits as the host loops on cpu, for widths 8 and 132 (SIMD) and 6 (JS on wasm too)", async () => {
    const widths = [8, 132, 6];
    const onWasm = widths.map(evaluate);
    await tf.setBackend("cpu");
    const onCpu = widths.map(evaluate);
    await tf.setBackend("wasm");
    expect(onWasm).toEqual(onCpu);
    // Dropped assignments get a zero gate gradient, the unused row a zero gradient.
    const [, dRows, dW] = onWasm[0]!;
    expect(dropped.map((a) => dW![a])).toEqual([0, 0, 0, 0]);
    expect(dRows!.slice(17 * 8)).toEqual(new Array(16).fill(0));
  });
});

describe("gatherOrZero (dispatch's row gather)", () => {
  it("copies whole rows with zeros for out-of-range indices, the same on wasm (heap kernel) and cpu (host copies)", async () => {
    const run = (): number[] => {
      const rows = tf.tensor2d(Array.from({ length: 12 }, (_, i) => i + 1), [4, 3]);
      const idx = tf.tensor1d([3, 4, 0, 0, 4, 2], "int32");
      const out = gatherOrZero(rows, idx);
      const v = Array.from(out.dataSync());
      tf.dispose([rows, idx, out]);
      return v;
    };
    const want = [10, 11, 12, 0, 0, 0, 1, 2, 3, 1, 2, 3, 0, 0, 0, 7, 8, 9];
    expect(run()).toEqual(want);
    await tf.setBackend("cpu");
    const onCpu = run();
    await tf.setBackend("wasm");
    expect(onCpu).toEqual(want);
  });
});

describe("topKIndices and pickColumns (the router's selection and gate values)", () => {
  // Scores with many ties (quarter steps), zeros and -Infinity.
  const scores = (t: number, e: number, seed: number): tf.Tensor2D =>
    tf.tidy(() => {
      const q = tf.div(tf.round(tf.mul(tf.randomNormal([t, e], 0, 1, "float32", seed), 4)), 4);
      return tf.where(tf.less(q, -1.5), tf.fill([t, e], -Infinity), q) as tf.Tensor2D;
    });

  it("picks the same indices as tf.topk (best first, ties to the lower index), also with a NaN", () => {
    for (const [e, k] of [[8, 1], [8, 2], [8, 3], [5, 5], [16, 4]] as const) {
      const s = scores(300, e, 7 + e + k);
      const got = topKIndices(s, k);
      const want = tf.topk(s, k).indices;
      expect(got.dtype).toBe("int32");
      expect(Array.from(got.dataSync()), `E ${e} k ${k}`).toEqual(Array.from(want.dataSync()));
      tf.dispose([s, got, want]);
    }
    const withNaN = tf.tensor2d([[0.5, NaN, 0.25, 1], [1, 1, 0, 1]]);
    const [got, want] = [topKIndices(withNaN, 2), tf.topk(withNaN, 2).indices];
    expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
    tf.dispose([withNaN, got, want]);
  });

  it("gives the values and gradients of the one-hot sum it replaces, bit for bit (zeros' signs included)", () => {
    for (const k of [1, 2, 3, 5]) {
      const probs = tf.tidy(() => tf.softmax(tf.randomNormal([64, 8], 0, 2, "float32", 20 + k))) as tf.Tensor2D;
      const idx = topKIndices(probs, k);
      // A cotangent with negative values and signed zeros.
      const cot = tf.tidy(() => tf.mul(tf.round(tf.randomNormal([64, k], 0, 1, "float32", 30 + k)), tf.randomNormal([64, k], 0, 1, "float32", 40 + k)));
      const before = tf.memory().numTensors;
      const viaOps = (p: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.expandDims(p, 1), tf.oneHot(idx, 8)), -1);
      const [v1, v2] = [pickColumns(probs, idx), tf.tidy(() => viaOps(probs))];
      const g1 = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(pickColumns(p as tf.Tensor2D, idx), cot)))(probs);
      const g2 = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(viaOps(p), cot)))(probs);
      const bits = (x: tf.Tensor): number[] => Array.from(new Int32Array((x.dataSync() as Float32Array).slice().buffer));
      expect(bits(v1), `values, k ${k}`).toEqual(bits(v2));
      expect(bits(g1), `gradients, k ${k}`).toEqual(bits(g2));
      expect(bits(g1).some((b) => b === -0x80000000)).toBe(k === 1); // -0 reaches the gradient only when autodiff sums nothing
      tf.dispose([v1, v2, g1, g2]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([probs, idx, cot]);
    }
  });
});
