import { describe, expect, it } from "vitest";
import { linearSumAssignment } from "../../src/moe/merge/lsa.js";
import { svd } from "../../src/moe/merge/svd.js";
import { matMul, matrix, transpose, type Matrix } from "../../src/moe/merge/matrix.js";
import { alignExpert, alignmentPermutation, permuteNeurons } from "../../src/moe/merge/align.js";
import { groupExpertsByRouting, routerLogitSimilarity, usageFrequencies } from "../../src/moe/merge/group.js";
import { mergeExpertGroups } from "../../src/moe/merge/merge.js";
import { compressionError, lowRankPlusSparse, lowRankSparseParameterCount, reconstructLowRankSparse } from "../../src/moe/merge/compress.js";
import type { ExpertWeights } from "../../src/moe/merge/expert-weights.js";
import { ShapeError, ValueError } from "../../src/errors.js";
import { goldens } from "./golden.js";

const H = goldens.host;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}
const randMatrix = (rows: number, cols: number, rnd: () => number): Matrix => matrix(rows, cols, Array.from({ length: rows * cols }, rnd));
const randExpert = (d: number, h: number, rnd: () => number): ExpertWeights => ({
  wUp: randMatrix(d, h, rnd),
  wGate: randMatrix(d, h, rnd),
  wDown: randMatrix(h, d, rnd),
  bUp: Float64Array.from({ length: h }, rnd),
  bDown: Float64Array.from({ length: d }, rnd),
});
/** Host evaluation of a SwiGLU-with-bias expert on one input row. */
function evalExpert(e: ExpertWeights, x: number[]): number[] {
  const d = e.wUp.rows;
  const h = e.wUp.cols;
  const hid = Array.from({ length: h }, (_, j) => {
    let up = e.bUp![j]!;
    let g = 0;
    for (let r = 0; r < d; r++) {
      up += x[r]! * e.wUp.data[r * h + j]!;
      g += x[r]! * e.wGate!.data[r * h + j]!;
    }
    return (g / (1 + Math.exp(-g))) * up;
  });
  return Array.from({ length: d }, (_, c) => hid.reduce((s, v, j) => s + v * e.wDown.data[j * d + c]!, e.bDown![c]!));
}

describe("linearSumAssignment", () => {
  it("matches scipy on a square cost (minimise) and a rectangular one (maximise)", () => {
    const col = linearSumAssignment(matrix(7, 7, H.lsaCost));
    expect(Array.from(col)).toEqual(H.lsaCol);
    const total = Array.from(col).reduce((s, c, i) => s + H.lsaCost[i * 7 + c]!, 0);
    expect(total).toBeCloseTo(H.lsaCost7, 12);
    const rect = linearSumAssignment(matrix(5, 8, H.lsaRect), { maximize: true });
    expect(Array.from(rect)).toEqual(H.lsaRectCol);
  });
  it("finds the optimum of every random 5×5 problem (brute force over 120 permutations)", () => {
    const rnd = lcg(3);
    const perms: number[][] = [];
    const gen = (p: number[], rest: number[]): void => {
      if (!rest.length) perms.push(p);
      rest.forEach((v, i) => gen([...p, v], rest.filter((_, j) => j !== i)));
    };
    gen([], [0, 1, 2, 3, 4]);
    for (let trial = 0; trial < 20; trial++) {
      const c = randMatrix(5, 5, rnd);
      const best = Math.min(...perms.map((p) => p.reduce((s, j, i) => s + c.data[i * 5 + j]!, 0)));
      const got = Array.from(linearSumAssignment(c)).reduce((s, j, i) => s + c.data[i * 5 + j]!, 0);
      expect(got).toBeCloseTo(best, 12);
    }
  });
  it("rejects more rows than columns and NaN costs", () => {
    expect(() => linearSumAssignment(randMatrix(3, 2, lcg(1)))).toThrow(ShapeError);
    expect(() => linearSumAssignment({ rows: 1, cols: 1, data: new Float64Array([NaN]) })).toThrow(ValueError);
  });
});

describe("svd", () => {
  it("gives numpy's singular values and reconstructs A = U S Vᵀ with orthonormal factors", () => {
    for (const a of [matrix(6, 4, H.svdA), transpose(matrix(6, 4, H.svdA))]) {
      const { u, s, v } = svd(a);
      expect(Array.from(s).map((x) => +x.toFixed(10))).toEqual(H.svdS.map((x) => +x.toFixed(10)));
      const us = { rows: u.rows, cols: u.cols, data: u.data.map((x, i) => x * s[i % u.cols]!) };
      const rec = matMul(us, transpose(v));
      rec.data.forEach((x, i) => expect(x).toBeCloseTo(a.data[i]!, 12));
      const utu = matMul(transpose(u), u);
      utu.data.forEach((x, i) => expect(x).toBeCloseTo(i % (u.cols + 1) === 0 ? 1 : 0, 12));
    }
  });
});

describe("neuron permutation alignment", () => {
  it("a permuted expert computes the same function, and alignment recovers the planted permutation", () => {
    const rnd = lcg(11);
    const e = randExpert(4, 6, rnd);
    const planted = Int32Array.from([3, 0, 5, 1, 4, 2]);
    const shuffled = permuteNeurons(e, planted);
    const x = [0.3, -1.2, 0.7, 0.05];
    evalExpert(shuffled, x).forEach((v, i) => expect(v).toBeCloseTo(evalExpert(e, x)[i]!, 12));
    const aligned = alignExpert(e, shuffled);
    expect(Array.from(aligned.wUp.data)).toEqual(Array.from(e.wUp.data));
    expect(Array.from(aligned.wDown.data)).toEqual(Array.from(e.wDown.data));
    const inverse = alignmentPermutation(e, shuffled);
    expect(Array.from(inverse, (j) => planted[j])).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe("routing-guided grouping and frequency-weighted merging", () => {
  it("follows MC-SMoE's 4-expert toy: f = [.5,.3,.15,.05], G = 2 → cores {0,1}, merged (0.5W₀+0.15W₂)/0.65", () => {
    const f = Float64Array.from(H.mergeF);
    // Expert 2 routes like expert 0, expert 3 like expert 1.
    const logits = matrix(4, 4, [2, 0, 2, 0, 0, 3, 0, 3, 1, -1, 1, -1, -2, 1, -2, 1]);
    const groups = groupExpertsByRouting(f, routerLogitSimilarity(logits), 2);
    expect(Array.from(groups.cores)).toEqual([0, 1]);
    expect(Array.from(groups.labels)).toEqual([0, 1, 0, 1]);
    const experts = H.mergeW.map((w): ExpertWeights => ({ wUp: matrix(3, 2, w), wDown: matrix(2, 3, w) }));
    const merged = mergeExpertGroups(experts, f, groups, { align: false });
    Array.from(merged[0]!.wUp.data).forEach((v, i) => expect(v).toBeCloseTo(H.merged02[i]!, 12));
  });
  it("merging identical experts returns them exactly, with or without alignment", () => {
    const e = randExpert(3, 5, lcg(5));
    const f = Float64Array.from([0.1, 0.6, 0.3]);
    for (const align of [true, false]) {
      const [m] = mergeExpertGroups([e, e, e], f, { labels: Int32Array.from([0, 0, 0]), cores: Int32Array.from([1]) }, { align });
      expect(Array.from(m!.wUp.data)).toEqual(Array.from(e.wUp.data).map((v) => expect.closeTo(v, 14)));
      expect(Array.from(m!.bDown!)).toEqual(Array.from(e.bDown!).map((v) => expect.closeTo(v, 14)));
    }
  });
  it("aligning before merging keeps the function of permuted copies", () => {
    const rnd = lcg(9);
    const e = randExpert(3, 4, rnd);
    const copy = permuteNeurons(e, Int32Array.from([2, 3, 1, 0]));
    const groups = { labels: Int32Array.from([0, 0]), cores: Int32Array.from([0]) };
    const [m] = mergeExpertGroups([e, copy], Float64Array.from([0.5, 0.5]), groups);
    const x = [0.4, -0.3, 1.1];
    evalExpert(m!, x).forEach((v, i) => expect(v).toBeCloseTo(evalExpert(e, x)[i]!, 12));
    // Without alignment the average of permuted copies is a different function.
    const [naive] = mergeExpertGroups([e, copy], Float64Array.from([0.5, 0.5]), groups, { align: false });
    expect(Math.abs(evalExpert(naive!, x)[0]! - evalExpert(e, x)[0]!)).toBeGreaterThan(1e-3);
  });
  it("counts usage from top-1 choices and rejects bad input", () => {
    expect(Array.from(usageFrequencies([0, 2, 2, 1], 4))).toEqual([0.25, 0.25, 0.5, 0]);
    expect(() => usageFrequencies([0, 4], 4)).toThrow(ValueError);
    expect(() => groupExpertsByRouting(new Float64Array(3), matrix(2, 2, [1, 0, 0, 1]), 1)).toThrow(ShapeError);
  });
});

describe("low-rank plus sparse compression", () => {
  const w = randMatrix(8, 6, lcg(21));
  it("error decreases strictly as the rank grows and is zero at full rank", () => {
    const errs = [0, 1, 2, 3, 4, 5, 6].map((rank) => compressionError(w, lowRankPlusSparse(w, { rank })));
    for (let i = 1; i < errs.length; i++) expect(errs[i]!).toBeLessThan(errs[i - 1]!);
    expect(errs[0]).toBeCloseTo(1, 12);
    expect(errs[6]).toBeLessThan(1e-12);
  });
  it("UV + S = W exactly when the whole residual is kept; the sparse part lowers the error", () => {
    const full = lowRankPlusSparse(w, { rank: 2, sparseFraction: 1 });
    reconstructLowRankSparse(full).data.forEach((v, i) => expect(v).toBeCloseTo(w.data[i]!, 12));
    const some = lowRankPlusSparse(w, { rank: 2, sparseFraction: 0.25 });
    expect(compressionError(w, some)).toBeLessThan(compressionError(w, lowRankPlusSparse(w, { rank: 2 })));
    expect(lowRankSparseParameterCount(some)).toBe(2 * (8 + 6) + 12);
  });
  it("rejects an impossible rank", () => {
    expect(() => lowRankPlusSparse(w, { rank: 7 })).toThrow(ValueError);
  });
});
