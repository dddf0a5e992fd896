import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed, Rng } from "../../src/engine/random.js";
import { ActivationRecorder } from "../../src/inspect/recorder.js";
import { ActivationTableBuilder } from "../../src/inspect/records.js";
import { FLOAT_STATS, resolveRowStatsOptions, RowStatsKernel, type RowStatsOptions, type StatsColumns } from "../../src/inspect/stats.js";
import { HeapRowStats, SIMD_MAX_TOPK } from "../../src/inspect/stats-simd.js";
import { ToyNet } from "./toy.js";

beforeAll(async () => {
  expect(await initBackend()).toBe("wasm");
});

/** The float64 sums: the heap kernel adds the same terms lane-wise, so they may differ in the last bits. */
const SUMMED = new Set(["l2", "mean", "inL2", "updateL2", "updateCos"]);

/**
 * Expects the heap kernel's statistics to equal the JS kernel's: exactly for
 * counts, maxima, top-k and medians; the sums to 1e-12 of the row's scale.
 */
function expectSame(got: StatsColumns, want: StatsColumns, x: Float32Array, width: number, what: string) {
  expect(got.length).toBe(want.length);
  for (let r = 0; r < want.length; r++) {
    const row = x.subarray(r * width, (r + 1) * width);
    const scale = row.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0);
    for (const k of FLOAT_STATS) {
      const [a, b] = [got.f[k][r]!, want.f[k][r]!];
      const where = `${what} row ${r} ${k}`;
      if (Number.isNaN(b) || !Number.isFinite(b) || !SUMMED.has(k)) expect(a, where).toBe(b);
      else expect(Math.abs(a - b), `${where}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-12 * (Math.abs(b) + (k === "updateCos" ? 1 : scale)));
    }
    expect(got.argMaxAbs[r], `${what} row ${r} argMaxAbs`).toBe(want.argMaxAbs[r]);
    expect(got.topCount[r], `${what} row ${r} topCount`).toBe(want.topCount[r]);
    const k = want.topK;
    const n = want.topCount[r]!;
    expect([...got.topIndices.subarray(r * k, r * k + n)], `${what} row ${r} topIndices`).toEqual([...want.topIndices.subarray(r * k, r * k + n)]);
    expect([...got.topValues.subarray(r * k, r * k + n)], `${what} row ${r} topValues`).toEqual([...want.topValues.subarray(r * k, r * k + n)]);
  }
}

/** Runs both kernels on rows of `width` and compares them, with and without an input. */
function compare(x: Float32Array, width: number, opts: RowStatsOptions = {}, input: Float32Array | null = null) {
  const o = resolveRowStatsOptions(opts);
  const heap = HeapRowStats.create(tf.backend(), o);
  expect(heap, "the heap kernel is available on the wasm backend").not.toBeNull();
  expect(heap!.supports(width)).toBe(true);
  const rows = x.length / width;
  const [tx, ti] = [tf.tensor(x, [rows, width]), input ? tf.tensor(input, [rows, width]) : null];
  const before = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  const got = heap!.rows(tx, ti, rows, width);
  expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds(), "scratch freed").toBe(before);
  tf.dispose([tx, ...(ti ? [ti] : [])]);
  expectSame(got, new RowStatsKernel(o).rows(x, rows, width, input), x, width, `width ${width} ${JSON.stringify(opts)}${input ? " with input" : ""}`);
}

describe("summary statistics on the wasm heap (SIMD) equal the JS kernel's", () => {
  it("random rows of many widths and every top-k, median and eps setting, with and without update statistics", () => {
    const rng = new Rng(31);
    for (const width of [32, 36, 64, 100, 256, 1000]) {
      const x = rng.normalArray(9 * width);
      const input = rng.normalArray(9 * width);
      for (const opts of [{}, { topK: 0 }, { topK: 1, median: false }, { topK: 3 }, { topK: 5, nearZeroEps: 0.5 }, { topK: SIMD_MAX_TOPK }]) {
        compare(x, width, opts);
        compare(x, width, opts, input);
      }
    }
  });

  it("ties, signed zeros, all-zero rows, fewer nonzero or non-NaN features than k, NaN and ±Infinity anywhere", () => {
    const width = 32;
    const rows: number[][] = [
      new Array(32).fill(0),
      Array.from({ length: 32 }, (_, i) => (i % 2 ? -0 : 0)),
      Array.from({ length: 32 }, (_, i) => (i === 17 ? 3 : i === 5 ? -3 : 0)),
      Array.from({ length: 32 }, (_, i) => ((i * 7) % 5) - 2), // small integers: ties everywhere
      Array.from({ length: 32 }, (_, i) => (i % 3 ? 2 : -2)),
      Array.from({ length: 32 }, (_, i) => (i === 3 ? NaN : i)),
      new Array(32).fill(NaN),
      Array.from({ length: 32 }, (_, i) => (i === 9 || i === 30 ? 5 : NaN)), // two non-NaN features, k = 4
      Array.from({ length: 32 }, (_, i) => (i === 0 ? Infinity : i === 31 ? -Infinity : i / 10)),
      new Array(32).fill(-Infinity),
      // around the near-zero threshold 1e-3 (not a float32), and subnormals
      Array.from({ length: 32 }, (_, i) => [1e-3, Math.fround(1e-3), -Math.fround(1e-3), 0.0010000001, 1e-40, -1e-45, 2e-3, -9.9e-4][i % 8]!),
    ];
    const x = Float32Array.from(rows.flat());
    const input = x.map((v, i) => (i % 11 === 0 ? NaN : i % 4 === 0 ? v : v / 2));
    for (const opts of [{}, { topK: 1 }, { topK: 5 }, { topK: 0, median: false }]) {
      compare(x, width, opts);
      compare(x, width, opts, input);
    }
    // ties for the last top-k place fill in index order
    compare(Float32Array.from({ length: 64 }, (_, i) => (i === 40 ? 9 : i % 5 === 0 ? -4 : 1)), 32, { topK: 6 });
  });

  it("more rows than one kernel call takes (2048) and rows whose scale jumps", () => {
    const rng = new Rng(32);
    const width = 32;
    const scales = [1, 1e3, 1e-3, 1e6, 0, 1e-30, 5];
    const x = rng.normalArray(2100 * width).map((v, i) => v * scales[Math.floor(i / width) % scales.length]!);
    compare(x, width);
    compare(x, width, { median: false }, rng.normalArray(2100 * width));
  });

  it("is offered only where it applies: rows of a multiple of 4 and at least 32 features, topK ≤ 8, the wasm backend", () => {
    const heap = HeapRowStats.create(tf.backend(), resolveRowStatsOptions({}))!;
    expect([32, 36, 64].map((w) => heap.supports(w))).toEqual([true, true, true]);
    expect([0, 8, 28, 33, 66].map((w) => heap.supports(w))).toEqual([false, false, false, false, false]);
    expect(HeapRowStats.create(tf.backend(), resolveRowStatsOptions({ topK: SIMD_MAX_TOPK + 1 }))).toBeNull();
    expect(HeapRowStats.create({}, resolveRowStatsOptions({}))).toBeNull();
  });
});

describe("ActivationRecorder on the heap kernel", () => {
  it("records the same table as host copies through the JS kernel, leaves outputs bitwise unchanged and leaks nothing", () => {
    manualSeed(7);
    const [B, T, IN, D] = [2, 5, 3, 32];
    const net = new ToyNet(IN, D, 3, 4).eval();
    const x = tf.tensor(new Rng(8).normalArray(B * T * IN), [B, T, IN]);
    const run = () => {
      const y = net.call(x);
      const v = Float32Array.from(y.dataSync());
      y.dispose();
      return v;
    };
    const plain = run();
    for (const opts of [{}, { topK: 6, median: false, fullTensors: true }]) {
      const host = new ActivationTableBuilder(opts);
      const calls = new Map<string, number>();
      const record = ["blocks.*", "blocks.*.fc1", "blocks.*.act"];
      const rec = new ActivationRecorder(net, { record, ...opts });
      // A second hook, registered after, builds the reference from host copies.
      const handles = rec.modules.map((name) =>
        net.namedModules().find(([n]) => n === name)![1].registerForwardHook(({ inputs, output }) => {
          const [out, inp] = [output as tf.Tensor, inputs[0] as tf.Tensor];
          const call = calls.get(name) ?? 0;
          calls.set(name, call + 1);
          const data = (t: tf.Tensor) => Float32Array.from(t.dataSync());
          host.add({ module: name, call, shape: out.shape, output: data(out), input: { shape: inp.shape, data: data(inp) } });
        }),
      );
      const [tensors, ids] = [tf.memory().numTensors, (tf.backend() as unknown as { numDataIds(): number }).numDataIds()];
      expect(run()).toEqual(plain);
      expect(run()).toEqual(plain);
      expect([tf.memory().numTensors, (tf.backend() as unknown as { numDataIds(): number }).numDataIds()]).toEqual([tensors, ids]);
      rec.detach();
      for (const h of handles) h.remove();
      const [a, b] = [rec.table(), host.finish()];
      expect(a.module).toEqual(b.module);
      expect([...a.call]).toEqual([...b.call]);
      for (const k of FLOAT_STATS) {
        for (let r = 0; r < a.module.length; r++) {
          if (SUMMED.has(k) && Number.isFinite(b[k][r]!)) expect(Math.abs(a[k][r]! - b[k][r]!), `${k} row ${r}`).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(b[k][r]!)));
          else expect(a[k][r], `${k} row ${r}`).toBe(b[k][r]);
        }
      }
      expect([...a.argMaxAbs]).toEqual([...b.argMaxAbs]);
      expect(a.topIndices.map((t) => [...t])).toEqual(b.topIndices.map((t) => [...t]));
      expect(a.topValues.map((t) => [...t])).toEqual(b.topValues.map((t) => [...t]));
      expect(a.values).toEqual(b.values);
    }
    x.dispose();
    net.dispose();
  });
});
