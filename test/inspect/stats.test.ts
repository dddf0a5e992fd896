import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/random.js";
import { ShapeError } from "../../src/errors.js";
import { ActivationTableBuilder, type ActivationTable } from "../../src/inspect/records.js";
import { MEDIAN_SAMPLE, medianAbs, resolveRowStatsOptions, rowStats, selectKth, type RowStatsOptions } from "../../src/inspect/stats.js";

/** The statistics of one row computed the plain way: one value at a time, sort for top-k and median. */
function referenceRow(x: Float32Array, input: Float32Array | null, off: number, width: number, opts: Required<RowStatsOptions>) {
  let sum = 0;
  let sq = 0;
  let zeros = 0;
  let near = 0;
  let positive = 0;
  for (let i = off; i < off + width; i++) {
    const v = x[i]!;
    sum += v;
    sq += v * v;
    if (v === 0) zeros++;
    if (v > 0) positive++;
    if (Math.abs(v) <= opts.nearZeroEps) near++;
  }
  const order = Array.from({ length: width }, (_, i) => i)
    .filter((i) => !Number.isNaN(x[off + i]!))
    .sort((a, b) => Math.abs(x[off + b]!) - Math.abs(x[off + a]!) || a - b);
  const top = order.slice(0, opts.topK);
  let median = NaN;
  if (opts.median && width > 0) {
    const n = Math.min(width, MEDIAN_SAMPLE);
    const sample = Array.from({ length: n }, (_, i) => Math.abs(x[off + Math.floor((i * width) / n)]!));
    if (!sample.some(Number.isNaN)) median = sample.sort((a, b) => a - b)[(n - 1) >> 1]!;
  }
  let [ii, uu, ui] = [NaN, NaN, NaN];
  if (input) {
    [ii, uu, ui] = [0, 0, 0];
    for (let i = off; i < off + width; i++) {
      const a = input[i]!;
      const u = x[i]! - a;
      ii += a * a;
      uu += u * u;
      ui += u * a;
    }
  }
  const denom = Math.sqrt(ii * uu);
  const per = (c: number) => (width > 0 ? c / width : NaN);
  return {
    l2: Math.sqrt(sq),
    mean: per(sum),
    maxAbs: order.length ? Math.abs(x[off + order[0]!]!) : NaN,
    argMaxAbs: order.length ? order[0]! : -1,
    medianAbs: median,
    fracZero: per(zeros),
    fracNearZero: per(near),
    fracPositive: per(positive),
    topIndices: top,
    topValues: top.map((i) => x[off + i]!),
    inL2: Math.sqrt(ii),
    updateL2: Math.sqrt(uu),
    updateCos: input ? (denom > 0 ? ui / denom : NaN) : NaN,
  };
}

/** Expects every row of `t` (rows `from..`) to equal the reference exactly (NaN where NaN, bit for bit otherwise). */
function expectReference(t: ActivationTable, from: number, x: Float32Array, input: Float32Array | null, width: number, opts: Required<RowStatsOptions>) {
  const rows = width > 0 ? x.length / width : t.module.length - from;
  for (let r = 0; r < rows; r++) {
    const ref = referenceRow(x, input, r * width, width, opts);
    const row = from + r;
    const got = {
      l2: t.l2[row],
      mean: t.mean[row],
      maxAbs: t.maxAbs[row],
      argMaxAbs: t.argMaxAbs[row],
      medianAbs: t.medianAbs[row],
      fracZero: t.fracZero[row],
      fracNearZero: t.fracNearZero[row],
      fracPositive: t.fracPositive[row],
      topIndices: [...t.topIndices[row]!],
      topValues: [...t.topValues[row]!],
      inL2: t.inL2[row],
      updateL2: t.updateL2[row],
      updateCos: t.updateCos[row],
    };
    expect(got, `row ${r} of width ${width}`).toEqual(ref);
  }
}

/** Adds `x` (rows of `width`) to a fresh builder and checks every row against the reference. */
function check(x: Float32Array, width: number, opts: RowStatsOptions = {}, input: Float32Array | null = null) {
  const b = new ActivationTableBuilder(opts);
  const rows = width > 0 ? x.length / width : 3;
  const shape = [rows, width];
  b.add({ module: "m", call: 0, shape, output: x, input: input ? { shape, data: input } : undefined });
  expectReference(b.finish(), 0, x, input, width, resolveRowStatsOptions(opts));
}

const f32 = (xs: number[]) => Float32Array.from(xs);

describe("summary statistics against a plain reference computation", () => {
  it("random rows of many widths, with and without update statistics, every top-k and median setting", () => {
    const rng = new Rng(21);
    for (const width of [1, 2, 3, 5, 8, 31, 32, 33, 64, 100, 256, 1000]) {
      const x = rng.normalArray(7 * width);
      const input = rng.normalArray(7 * width);
      for (const opts of [{}, { topK: 0 }, { topK: 1, median: false }, { topK: 9, nearZeroEps: 0.5 }]) {
        check(x, width, opts);
        check(x, width, opts, input);
      }
    }
  });

  it("rows whose scale jumps up and down (the candidate threshold carried from row to row misses) and the threshold across calls", () => {
    const rng = new Rng(22);
    const width = 48;
    const scales = [1, 1e3, 1e-3, 1, 1e6, 0, 1e-30, 5, 5, 1e-3];
    const x = rng.normalArray(scales.length * width).map((v, i) => v * scales[Math.floor(i / width)]!);
    check(x, width);
    const b = new ActivationTableBuilder();
    const small = x.map((v) => v * 1e-9);
    b.add({ module: "a", call: 0, shape: [scales.length, width], output: x });
    b.add({ module: "b", call: 0, shape: [scales.length, width], output: small });
    expectReference(b.finish(), scales.length, small, null, width, resolveRowStatsOptions({}));
  });

  it("NaN anywhere, ±Infinity, all-NaN rows", () => {
    const width = 6;
    const x = f32([
      ...[NaN, 1, -2, 0, 3, 0.0001],
      ...[1, 2, NaN, 3, -4, 5],
      ...[1, 2, 3, 4, 5, NaN],
      ...[NaN, NaN, NaN, NaN, NaN, NaN],
      ...[NaN, NaN, 7, NaN, NaN, -7],
      ...[Infinity, 1, -Infinity, 2, 3, 4],
      ...[1, Infinity, 2, Infinity, -1, 0],
      ...[-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      // large values, then NaNs that pass any candidate threshold and small values that do not
      ...[10, 10, 10, 10, 10, 10],
      ...[NaN, NaN, NaN, NaN, 1, 2],
    ]);
    const input = x.map((v, i) => (i % 5 === 0 ? NaN : v / 2));
    for (const opts of [{}, { topK: 5 }, { topK: 0 }]) {
      check(x, width, opts);
      check(x, width, opts, input);
    }
    // the all-NaN row: no maximum, no top-k entries
    const s = rowStats(x, 3 * width, width, resolveRowStatsOptions({}));
    expect([s.maxAbs, s.argMaxAbs, s.topIndices.length, s.medianAbs]).toEqual([NaN, -1, 0, NaN]);
  });

  it("all-zero rows, signed zeros, ReLU-like rows with fewer nonzeros than k", () => {
    const width = 10;
    const x = f32([
      ...new Array(10).fill(0),
      ...[-0, 0, -0, 0, -0, 0, -0, 0, -0, 0],
      ...[0, 0, 3, 0, 0, 0, 0, 0, 0, 0],
      ...[0, 2, 0, 0, 0, 0, 0, 1, 0, 0],
    ]);
    check(x, width);
    check(x, width, {}, x.map(() => 0));
    const s = rowStats(x, 0, width, resolveRowStatsOptions({}));
    expect([s.maxAbs, s.argMaxAbs, [...s.topIndices], s.fracZero, s.medianAbs]).toEqual([0, 0, [0, 1, 2, 3], 1, 0]);
  });

  it("ties for the maximum and for the last top-k place keep the earlier index, negatives rank by |x|", () => {
    const width = 8;
    const x = f32([...[1, -5, 5, 2, -5, 3, 5, 0], ...[2, 2, 2, 2, 2, 2, 2, 2], ...[-1, -2, -3, -4, -4, -3, -2, -1]]);
    check(x, width);
    const s = rowStats(x, 0, width, resolveRowStatsOptions({ topK: 4 }));
    expect([s.argMaxAbs, [...s.topIndices], [...s.topValues]]).toEqual([1, [1, 2, 4, 6], [-5, 5, -5, 5]]);
    expect([...rowStats(x, width, width, resolveRowStatsOptions({ topK: 3 })).topIndices]).toEqual([0, 1, 2]);
    // small integers: ties everywhere, over many rows
    const rng = new Rng(23);
    check(
      rng.normalArray(40 * 37).map((v) => Math.round(v * 2)),
      37,
    );
  });

  it("single elements, rows narrower than k, zero-width rows", () => {
    check(f32([-3, 0, NaN, 7]), 1);
    check(f32([1, -2, 3, 0, 0, 5]), 2, { topK: 4 });
    const b = new ActivationTableBuilder();
    b.add({ module: "m", call: 0, shape: [3, 0], output: new Float32Array(0) });
    const t = b.finish();
    expect([...t.l2]).toEqual([0, 0, 0]);
    expect([t.mean[0], t.maxAbs[0], t.argMaxAbs[0], t.medianAbs[0], t.topIndices[0]!.length]).toEqual([NaN, NaN, -1, NaN, 0]);
  });

  it("output values that do not fit the shape are a ShapeError", () => {
    const b = new ActivationTableBuilder();
    expect(() => b.add({ module: "m", call: 0, shape: [2, 4], output: new Float32Array(7) })).toThrow(ShapeError);
  });
});

describe("selection", () => {
  it("selectKth equals the sorted order on random, repeated and constant data, for every k", () => {
    const rng = new Rng(24);
    const inputs = [
      rng.normalArray(101),
      rng.normalArray(64).map((v) => Math.round(v) + 0), // + 0: no -0, which sorts ambiguously against 0
      new Float32Array(33).fill(2),
      Float32Array.from({ length: 50 }, (_, i) => 50 - i),
    ];
    for (const x of inputs) {
      const sorted = Array.from(x).sort((a, b) => a - b);
      for (let k = 0; k < x.length; k++) expect(selectKth(Float64Array.from(x), x.length, k)).toBe(sorted[k]);
    }
  });

  it("medianAbs of data holding NaN is NaN; ±Infinity is ordered", () => {
    expect(medianAbs([1, NaN, 2])).toBeNaN();
    expect(medianAbs([Infinity, -Infinity, 1])).toBe(Infinity);
    expect(medianAbs([])).toBeNaN();
  });
});
