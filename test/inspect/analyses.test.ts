import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/random.js";
import { ConfigError, FormatError, ShapeError, ValueError } from "../../src/errors.js";
import { readActivations, writeActivations } from "../../src/inspect/arrow.js";
import { contributionByLayer, outputEffect, skipEffectMatrix } from "../../src/inspect/contribution.js";
import { countRouting, distinctiveExperts, expertUsage, routingCountsFromReports } from "../../src/inspect/experts.js";
import { massiveActivations, massiveFromTable } from "../../src/inspect/massive.js";
import { nameMatcher } from "../../src/inspect/patterns.js";
import { ActivationTableBuilder } from "../../src/inspect/records.js";
import { activationSparsity, sparsityByLayer, topkMask, topkThreshold } from "../../src/inspect/sparsity.js";
import { medianAbs, resolveRowStatsOptions, rowStats } from "../../src/inspect/stats.js";
import { lacActivated, layersToSkip, voidsFromTable } from "../../src/inspect/voids.js";

const dir = mkdtempSync(join(tmpdir(), "nc-inspect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A synthetic residual stream [B, T, d] through L layers; `update(l)` scales layer l's random update. */
function residualStream(rng: Rng, B: number, T: number, d: number, L: number, update: (l: number) => number) {
  const states: Float32Array[] = [rng.normalArray(B * T * d)];
  for (let l = 0; l < L; l++) {
    const prev = states[l]!;
    const u = rng.normalArray(prev.length, 0.5, 1);
    states.push(prev.map((v, i) => v + update(l) * u[i]!));
  }
  return states;
}

describe("row statistics", () => {
  it("match direct computation, top-k by |x| largest first", () => {
    const x = new Float32Array([0, -3, 1, 0, 2, -0.0005, 4, 0]);
    const s = rowStats(x, 0, 8, resolveRowStatsOptions({ topK: 3, nearZeroEps: 1e-3 }));
    expect(s.l2).toBeCloseTo(Math.sqrt(9 + 1 + 4 + 0.0005 ** 2 + 16), 12);
    expect(s.mean).toBeCloseTo((-3 + 1 + 2 - 0.0005 + 4) / 8, 7);
    expect([s.maxAbs, s.argMaxAbs]).toEqual([4, 6]);
    expect(s.fracZero).toBe(3 / 8);
    expect(s.fracNearZero).toBe(4 / 8);
    expect(s.fracPositive).toBe(3 / 8);
    expect([...s.topIndices]).toEqual([6, 1, 4]);
    expect([...s.topValues]).toEqual([4, -3, 2]);
    // sorted |x| = 0 0 0 .0005 1 2 3 4: lower median = 0.0005
    expect(s.medianAbs).toBeCloseTo(0.0005, 8);
  });

  it("quickselect median equals the sorted median on random data", () => {
    const rng = new Rng(3);
    for (const n of [1, 2, 7, 100, 1001]) {
      const x = rng.normalArray(n);
      const sorted = Array.from(x, Math.abs).sort((a, b) => a - b);
      expect(medianAbs(x)).toBe(sorted[(n - 1) >> 1]);
    }
  });

  it("rejects invalid options", () => {
    expect(() => resolveRowStatsOptions({ topK: -1 })).toThrow(ConfigError);
    expect(() => resolveRowStatsOptions({ nearZeroEps: NaN })).toThrow(ConfigError);
  });
});

describe("module-name patterns", () => {
  it("globs match within segments, ** across, /re/ as a regex", () => {
    const m = nameMatcher("blocks.*.ffn");
    expect(["blocks.0.ffn", "blocks.12.ffn", "blocks.0.ffn.fc1", "blocks.ffn"].map(m)).toEqual([true, true, false, false]);
    expect(["a.attn", "a.b.attn", "attn"].map(nameMatcher("**.attn"))).toEqual([true, true, false]);
    expect(["blocks.3", "blocks.3.ffn"].map(nameMatcher("/^blocks\\.\\d+$/"))).toEqual([true, false]);
    expect(nameMatcher(/ffn$/)("x.ffn")).toBe(true);
    expect(() => nameMatcher("/([/")).toThrow(ConfigError);
    expect(() => nameMatcher([])).toThrow(ConfigError);
  });
});

describe("activation tables and Arrow IPC", () => {
  it("round-trip every column through an Arrow file; the byte budget drops later rows' values", () => {
    const rng = new Rng(1);
    const b = new ActivationTableBuilder({ fullTensors: true, byteBudget: 5 * 8 * 4, topK: 2 });
    const x = rng.normalArray(2 * 3 * 8);
    const y = x.map((v) => 2 * v);
    b.add({ module: "blocks.0", call: 0, phase: "prompt", shape: [2, 3, 8], output: y, input: { shape: [2, 3, 8], data: x } });
    b.add({ module: "head", call: 0, shape: [2, 8], output: rng.normalArray(16) });
    const t = b.finish({ model: "toy" });
    expect(t.module.length).toBe(8);
    expect(t.meta.droppedValueRows).toBe(3);
    expect(t.values.filter((v) => v === null).length).toBe(3);
    // y = 2x: update = x, so ‖update‖ = ‖in‖ and cos = 1
    expect(t.updateL2[4]).toBeCloseTo(t.inL2[4]!, 5);
    expect(t.updateCos[4]).toBeCloseTo(1, 6);
    expect(Number.isNaN(t.inL2[6]!)).toBe(true);
    expect([t.batch[4], t.position[4], t.batch[7], t.position[7]]).toEqual([1, 1, 1, 0]);
    const path = join(dir, "acts.arrow");
    writeActivations(path, t);
    const r = readActivations(path);
    expect(r.module).toEqual(t.module);
    expect(r.phase).toEqual(t.phase);
    for (const k of ["call", "batch", "position", "width", "argMaxAbs"] as const) expect([...r[k]]).toEqual([...t[k]]);
    for (const k of ["l2", "mean", "maxAbs", "medianAbs", "fracZero", "fracNearZero", "fracPositive", "inL2", "updateL2", "updateCos"] as const) {
      expect([...r[k]]).toEqual([...t[k]]);
    }
    expect(r.topIndices.map((a) => [...a])).toEqual(t.topIndices.map((a) => [...a]));
    expect(r.topValues.map((a) => [...a])).toEqual(t.topValues.map((a) => [...a]));
    expect(r.values.map((a) => (a ? [...a] : null))).toEqual(t.values.map((a) => (a ? [...a] : null)));
    expect(r.values[0]).toEqual(y.slice(0, 8));
    expect(r.meta).toEqual(t.meta);
  });

  it("reading something else is a typed error", () => {
    const p = join(dir, "junk.arrow");
    writeFileSync(p, "not arrow at all");
    expect(() => readActivations(p)).toThrow(FormatError);
    expect(() => readActivations(join(dir, "missing.arrow"))).toThrow(ValueError);
  });
});

describe("LAC voids", () => {
  it("linearly growing norms: Δ constant, range 0, every layer active", () => {
    const inNorm = [1, 2];
    const outs = [0, 1, 2, 3].map((l) => inNorm.map((n) => n + (l + 1) * 0.5));
    const a = lacActivated(inNorm, outs, 1);
    expect(a.every((row) => row.every((v) => v === 1))).toBe(true);
  });

  it("α = 0: void iff the norm drops; layer 0 uses the range over the batch", () => {
    const a = lacActivated([1], [[2], [1.5], [1.6]], 1, 0);
    expect(a.map((r) => r[0])).toEqual([1, 0, 1]);
    // two batch items, Δ0 = 1 and 3: θ0 = 0.8·2 = 1.6 → item 0 void, item 1 active
    const b = lacActivated([1, 1], [[2, 4]], 2, 0.8);
    expect([...b[0]!]).toEqual([0, 1]);
  });

  it("a layer whose residual update is zero is void for every token (planted)", () => {
    const rng = new Rng(7);
    const [B, T, d, L, dead] = [2, 5, 16, 6, 3];
    const states = residualStream(rng, B, T, d, L, (l) => (l === dead ? 0 : 1));
    const b = new ActivationTableBuilder();
    for (let l = 0; l < L; l++) {
      b.add({ module: `blocks.${l}`, call: 0, phase: "prompt", shape: [B, T, d], output: states[l + 1]!, input: { shape: [B, T, d], data: states[l]! } });
      b.add({ module: `blocks.${l}.ffn`, call: 0, shape: [B, T, 2 * d], output: rng.normalArray(B * T * 2 * d) });
    }
    const v = voidsFromTable(b.finish(), { layers: "blocks.*" });
    expect(v.layers).toEqual([0, 1, 2, 3, 4, 5].map((l) => `blocks.${l}`));
    expect(v.call.length).toBe(B * T);
    expect(v.voidFraction[dead]).toBe(1);
    for (let k = 0; k < B * T; k++) expect(v.activated[k * L + dead]).toBe(0);
    expect(v.voidFractionByPhase.prompt![dead]).toBe(1);
    expect(layersToSkip(v, 1)).toEqual([`blocks.${dead}`]);
    // Random updates with positive mean keep the early layers mostly active.
    expect(v.voidFraction[0]).toBeLessThan(1);
  });

  it("phases are reported separately and bad input is a typed error", () => {
    const b = new ActivationTableBuilder();
    const x = new Float32Array([3, 4]);
    for (const [call, phase, scale] of [[0, "prompt", 2], [1, "generated", 3]] as const) {
      b.add({ module: "l0", call, phase, shape: [1, 2], output: x.map((v) => v * 2), input: { shape: [1, 2], data: x } });
      b.add({ module: "l1", call, phase, shape: [1, 2], output: x.map((v) => v * (2 + scale)), input: { shape: [1, 2], data: x.map((v) => v * 2) } });
      b.add({ module: "l2", call, phase, shape: [1, 2], output: x.map((v) => v * (2 + scale)), input: { shape: [1, 2], data: x.map((v) => v * (2 + scale)) } });
    }
    const v = voidsFromTable(b.finish(), { layers: ["l0", "l1", "l2"], alpha: 0.5 });
    // l2 leaves the norm unchanged after growth: void in both phases
    expect(v.voidFractionByPhase.prompt![2]).toBe(1);
    expect(v.voidFractionByPhase.generated![2]).toBe(1);
    expect(() => voidsFromTable(b.finish(), { layers: ["l0", "nope"] })).toThrow(ValueError);
    expect(() => lacActivated([1], [[NaN]], 1)).toThrow(ValueError);
    expect(() => lacActivated([1, 2, 3], [[1, 2, 3]], 2)).toThrow(ShapeError);
  });
});

describe("massive activations", () => {
  it("N(0,1) plus one planted 2000 → exactly that entry; a planted 50 fails the absolute threshold", () => {
    const rng = new Rng(11);
    const h = rng.normalArray(2 * 10 * 64);
    h[1 * 640 + 3 * 64 + 17] = 2000;
    const r = massiveActivations(h, [2, 10, 64]);
    expect(r.flags.map((f) => [f.batch, f.position, f.feature, f.value])).toEqual([[1, 3, 17, 2000]]);
    expect(r.top[0]!.feature).toBe(17);
    expect(r.median).toBeGreaterThan(0.5);
    h[1 * 640 + 3 * 64 + 17] = 50;
    expect(massiveActivations(h, [2, 10, 64]).flags).toEqual([]);
  });

  it("from tables: exact with full tensors and from top-k summaries alike", () => {
    const rng = new Rng(12);
    const h = rng.normalArray(3 * 8 * 32);
    h[2 * 256 + 0 * 32 + 5] = -1500; // batch 2, first token, dim 5
    for (const full of [true, false]) {
      const b = new ActivationTableBuilder({ fullTensors: full });
      b.add({ module: "blocks.0", call: 0, shape: [3, 8, 32], output: rng.normalArray(3 * 8 * 32) });
      b.add({ module: "blocks.1", call: 0, shape: [3, 8, 32], output: h });
      const r = massiveFromTable(b.finish());
      expect(r.flags.map((f) => [f.module, f.batch, f.position, f.feature, f.value])).toEqual([["blocks.1", 2, 0, 5, -1500]]);
      const l1 = r.layers.find((l) => l.module === "blocks.1")!;
      expect(l1.maxAbs).toBe(1500);
      expect(l1.medianExact).toBe(full);
      expect(l1.ratio).toBeGreaterThan(1000);
    }
    const cheap = new ActivationTableBuilder({ median: false });
    cheap.add({ module: "blocks.1", call: 0, shape: [3, 8, 32], output: h });
    const ct = cheap.finish();
    expect(ct.medianAbs.every(Number.isNaN)).toBe(true);
    expect(() => massiveFromTable(ct)).toThrow(ValueError);
  });
});

describe("sparsity", () => {
  it("ReLU of N(0,1) is about half active; a planted zero fraction is reported exactly", () => {
    const rng = new Rng(5);
    const a = rng.normalArray(200 * 128).map((v) => Math.max(v, 0));
    expect(activationSparsity(a, 128)).toBeGreaterThan(0.47);
    expect(activationSparsity(a, 128)).toBeLessThan(0.53);
    // exactly 3 of 8 units are zero in every row
    const planted = new Float32Array(10 * 8).map((_, i) => (i % 8 < 3 ? 0 : 1 + (i % 5)));
    expect(activationSparsity(planted, 8)).toBe(5 / 8);
    const b = new ActivationTableBuilder();
    b.add({ module: "ffn.act", call: 0, shape: [2, 5, 8], output: planted });
    const [s] = sparsityByLayer(b.finish());
    expect(s!.nonzeroFraction).toBe(5 / 8);
    expect(s!.positiveFraction).toBe(5 / 8);
    expect(s!.rows).toBe(10);
  });

  it("top-k keeps exactly k per row, the largest ones", () => {
    const rng = new Rng(6);
    const a = rng.normalArray(30 * 16);
    const mask = topkMask(a, 16, 4);
    for (let r = 0; r < 30; r++) {
      const row = a.slice(r * 16, r * 16 + 16);
      const kept = [...mask.slice(r * 16, r * 16 + 16)];
      expect(kept.reduce((s, v) => s + v, 0)).toBe(4);
      const minKept = Math.min(...row.filter((_, i) => kept[i]));
      const maxDropped = Math.max(...row.filter((_, i) => !kept[i]));
      expect(minKept).toBeGreaterThanOrEqual(maxDropped);
    }
    const th = topkThreshold(a, 16, 16);
    expect(th.keptEnergy).toBe(1);
    expect(topkThreshold(a, 16, 0).keptEnergy).toBe(0);
    expect(() => topkMask(a, 16, 17)).toThrow(ConfigError);
    expect(() => topkMask(a, 7, 1)).toThrow(ShapeError);
  });
});

describe("layer contribution and skip effects", () => {
  it("relative contribution is scale-invariant and exact for a known update", () => {
    const rng = new Rng(8);
    const x = rng.normalArray(4 * 16);
    const y = x.map((v) => 1.5 * v); // update = 0.5·x
    for (const c of [1, 1000]) {
      const b = new ActivationTableBuilder();
      b.add({ module: "blocks.0", call: 0, shape: [4, 16], output: y.map((v) => v * c), input: { shape: [4, 16], data: x.map((v) => v * c) } });
      const [lc] = contributionByLayer(b.finish());
      expect(lc!.relative).toBeCloseTo(0.5, 5);
      expect(lc!.cosine).toBeCloseTo(1, 5);
    }
  });

  it("skip-effect matrix: 0 before the skipped layer, 1 at it; output effect 0 for equal logits", () => {
    const rng = new Rng(9);
    const base = [0, 1, 2].map(() => rng.normalArray(12));
    const skipped = [0, 1, 2].map((s) => base.map((d, l) => (l < s ? d : l === s ? new Float32Array(12) : d.map((v) => v * 1.1))));
    const D = skipEffectMatrix(base, skipped, 4);
    for (let s = 0; s < 3; s++) {
      for (let l = 0; l < 3; l++) expect(D[s]![l]).toBeCloseTo(l < s ? 0 : l === s ? 1 : 0.1, 6);
    }
    const logits = rng.normalArray(20);
    expect(outputEffect(logits, logits, 5)).toBe(0);
    expect(outputEffect(new Float32Array([100, 0]), new Float32Array([0, 100]), 2)).toBeCloseTo(Math.SQRT2, 6);
  });
});

describe("expert usage", () => {
  it("finds the expert planted for one label and ranks it first", () => {
    const rng = new Rng(10);
    const labels: string[] = [];
    const chosen: number[] = [];
    for (let t = 0; t < 400; t++) {
      const label = t % 4 === 0 ? "spike" : "rest";
      labels.push(label);
      const first = label === "spike" ? 5 : rng.int(5);
      let second = rng.int(8);
      while (second === first || second === 5) second = rng.int(8);
      chosen.push(first, second);
    }
    const counts = countRouting("blocks.1.ffn", chosen, 2, 8, labels);
    const usage = expertUsage(counts);
    const spike = usage.find((u) => u.label === "spike")!;
    expect(spike.tokens).toBe(100);
    expect(spike.frequency[5]).toBe(1);
    expect(usage.find((u) => u.label === "rest")!.frequency[5]).toBe(0);
    const total = usage.reduce((s, u) => s + u.frequency.reduce((a, f) => a + f * u.tokens, 0), 0);
    expect(total).toBe(400 * 2); // counts sum to T·k
    const ranked = distinctiveExperts(usage, "spike");
    expect(ranked[0]).toMatchObject({ layer: "blocks.1.ffn", expert: 5, score: 1, frequencyA: 1, frequencyB: 0 });
    expect(() => distinctiveExperts(usage, "seizure")).toThrow(ConfigError);
    // the MoE core's load reports feed the same analysis
    const reports = [{ name: "blocks.1.ffn", numTokens: 10, switchLoss: 0, zLoss: 0, routed: [20, 0], kept: [20, 0], meanProb: [1, 0], droppedFraction: 0 }];
    const fromMoe = expertUsage([...routingCountsFromReports(reports, "spike"), ...routingCountsFromReports([{ ...reports[0]!, routed: [10, 10] }], "rest")]);
    expect(distinctiveExperts(fromMoe, "spike")[0]).toMatchObject({ expert: 0, score: 1, frequencyA: 2, frequencyB: 1 });
    expect(() => countRouting("x", [9, 0], 2, 8, ["a"])).toThrow(ValueError);
    expect(() => expertUsage([{ layer: "x", label: "a", tokens: 1, counts: [1, 0] }, { layer: "x", label: "b", tokens: 1, counts: [1] }])).toThrow(ShapeError);
  });
});
