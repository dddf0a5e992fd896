import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed, Rng } from "../../src/engine/random.js";
import { ConfigError, ShapeError } from "../../src/errors.js";
import { readActivations } from "../../src/inspect/arrow.js";
import { massiveFromTable } from "../../src/inspect/massive.js";
import { ActivationRecorder, matchModules } from "../../src/inspect/recorder.js";
import { ActivationTableBuilder } from "../../src/inspect/records.js";
import { overwriteModules, patchModules, scaleModules, skipModules, topkModules } from "../../src/inspect/interventions.js";
import { lacSkipChain, measureSkipEffects } from "../../src/inspect/skipping.js";
import { sparsityByLayer } from "../../src/inspect/sparsity.js";
import { voidsFromTable } from "../../src/inspect/voids.js";
import { contributionByLayer } from "../../src/inspect/contribution.js";
import { ToyNet } from "./toy.js";
import { Conv1d, Module } from "../../src/nn/index.js";

const [B, T, IN, D, L, C] = [2, 6, 3, 8, 4, 5];

beforeAll(async () => {
  await initBackend();
});

function makeNet(seed = 1): ToyNet {
  manualSeed(seed);
  return new ToyNet(IN, D, L, C).eval();
}

function input(seed = 2): tf.Tensor {
  return tf.tensor(new Rng(seed).normalArray(B * T * IN), [B, T, IN]);
}

/** Runs the net and returns its output values, checking that no tensor is left behind. */
function runValues(net: ToyNet, x: tf.Tensor): Float32Array {
  const before = tf.memory().numTensors;
  const y = net.call(x);
  const v = y.dataSync() as Float32Array;
  y.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return Float32Array.from(v);
}

function setParam(net: ToyNet, name: string, fill: (i: number) => number): void {
  const p = net.stateDict().get(name)! as tf.Variable;
  p.assign(tf.tensor(Float32Array.from({ length: p.size }, (_, i) => fill(i)), p.shape));
}

describe("ActivationRecorder", () => {
  it("never changes outputs bitwise, leaks nothing, and writes one row per (call, item, token)", () => {
    const net = makeNet();
    const x = input();
    const plain = runValues(net, x);
    for (const fullTensors of [false, true]) {
      const rec = new ActivationRecorder(net, { record: ["blocks.*", "blocks.*.act", "head"], fullTensors });
      expect(rec.modules).toEqual(["blocks.0", "blocks.0.act", "blocks.1", "blocks.1.act", "blocks.2", "blocks.2.act", "blocks.3", "blocks.3.act", "head"]);
      const y1 = runValues(net, x);
      rec.phase = "generated";
      const y2 = runValues(net, x);
      rec.detach();
      runValues(net, x);
      expect(y1).toEqual(plain);
      expect(y2).toEqual(plain);
      const t = rec.table();
      expect(t.module.length).toBe(2 * rec.modules.length * B * T);
      expect(new Set(t.call)).toEqual(new Set([0, 1]));
      expect(t.phase.filter((p) => p === "generated").length).toBe(rec.modules.length * B * T);
      const headRows = t.module.flatMap((m, r) => (m === "head" && t.call[r] === 0 ? [r] : []));
      // the head's rows are the output itself, row by row
      headRows.forEach((r, i) => {
        const row = plain.slice(i * C, (i + 1) * C);
        expect(t.l2[r]).toBeCloseTo(Math.hypot(...row), 5);
        if (fullTensors) expect(t.values[r]).toEqual(row);
      });
    }
    x.dispose();
    net.dispose();
  });

  it("statistics read from the backend equal those of the same calls built from dataSync copies, bit for bit", () => {
    const net = makeNet(4);
    const x = input(5);
    const builder = new ActivationTableBuilder();
    const calls = new Map<string, number>();
    // Registered first, so it sees each call before the recorder does.
    const handles = matchModules(net, ["blocks.*", "blocks.*.fc1", "head"]).map(([name, m]) =>
      m.registerForwardHook(({ inputs, output }) => {
        const [out, inp] = [output as tf.Tensor, inputs[0] as tf.Tensor];
        const call = calls.get(name) ?? 0;
        calls.set(name, call + 1);
        const data = (t: tf.Tensor) => Float32Array.from(t.dataSync());
        builder.add({ module: name, call, shape: out.shape, output: data(out), input: { shape: inp.shape, data: data(inp) } });
      }),
    );
    const rec = new ActivationRecorder(net, { record: ["blocks.*", "blocks.*.fc1", "head"] });
    for (let i = 0; i < 2; i++) runValues(net, x);
    rec.detach();
    for (const h of handles) h.remove();
    const [a, b] = [rec.table(), builder.finish()];
    expect(a.module).toEqual(b.module);
    for (const k of ["l2", "mean", "maxAbs", "medianAbs", "fracZero", "fracNearZero", "fracPositive", "inL2", "updateL2", "updateCos", "argMaxAbs", "call"] as const) {
      expect([...a[k]], k).toEqual([...b[k]]);
    }
    expect(a.topValues.map((t) => [...t])).toEqual(b.topValues.map((t) => [...t]));
    x.dispose();
    net.dispose();
  });

  it("streams part files that read back as the same table as an in-memory recording", () => {
    const net = makeNet(2);
    const x = input();
    const dir = mkdtempSync(join(tmpdir(), "nc-stream-"));
    try {
      const whole = new ActivationRecorder(net, { record: ["blocks.*", "head"], meta: { model: "toy" } });
      const streamed = new ActivationRecorder(net, { record: ["blocks.*", "head"], streamTo: dir, flushRows: 50, meta: { model: "toy" } });
      for (let i = 0; i < 3; i++) runValues(net, x);
      whole.detach();
      expect(streamed.numRows).toBeLessThan(50);
      streamed.close();
      // a call's rows stay together: 12 rows per call, a part as soon as ≥ 50 rows → 3 parts of 60
      expect(readdirSync(dir).sort()).toEqual(["part-00000.arrow", "part-00001.arrow", "part-00002.arrow"]);
      const a = whole.table();
      const b = readActivations(dir);
      expect(b.module).toEqual(a.module);
      expect([...b.call]).toEqual([...a.call]);
      expect([...b.l2]).toEqual([...a.l2]);
      expect(b.topIndices.map((t) => [...t])).toEqual(a.topIndices.map((t) => [...t]));
      expect(b.meta.extra.model).toBe("toy");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    x.dispose();
    net.dispose();
  });

  it("channels-first outputs give one row per time step with the channels as features", () => {
    manualSeed(9);
    const conv = new Conv1d(3, 4, 3, { padding: 1 });
    const x = tf.tensor(new Rng(3).normalArray(2 * 3 * 5), [2, 3, 5]);
    const wrapper = new (class extends Module {
      readonly conv = this.registerModule("conv", conv);
      forward(v: tf.Tensor): tf.Tensor {
        return this.conv.call(v);
      }
    })();
    const rec = new ActivationRecorder(wrapper, { record: "conv", channelsFirst: true });
    const y = wrapper.call(x);
    rec.detach();
    const t = rec.table();
    expect(t.module.length).toBe(2 * 5);
    expect([...t.width]).toEqual(new Array(10).fill(4));
    const v = y.arraySync() as number[][][];
    // row (b=1, t=2) holds the 4 channels at time 2
    const row = [0, 1, 2, 3].map((c) => v[1]![c]![2]!);
    expect(t.l2[1 * 5 + 2]).toBeCloseTo(Math.hypot(...row), 5);
    expect(t.position[7]).toBe(2);
    tf.dispose([x, y]);
    wrapper.dispose();
  });

  it("rejects patterns that match nothing; modules without a tensor output are listed, not recorded", () => {
    const net = makeNet();
    expect(() => new ActivationRecorder(net, { record: "decoder.*" })).toThrow(ConfigError);
    const x = input();
    const plain = runValues(net, x);
    // hooks before and after the recorder wrap blocks.0's output in an object and unwrap it
    const block0 = net.blocks.items[0]!;
    const wrap = block0.registerForwardHook((ctx) => ({ notATensor: ctx.output }));
    const rec = new ActivationRecorder(net, { record: ["blocks.0", "head"] });
    const unwrap = block0.registerForwardHook((ctx) => (ctx.output as { notATensor: tf.Tensor }).notATensor);
    expect(runValues(net, x)).toEqual(plain);
    wrap.remove();
    unwrap.remove();
    rec.detach();
    expect([...rec.unrecorded]).toEqual(["blocks.0"]);
    expect(new Set(rec.table().module)).toEqual(new Set(["head"]));
    x.dispose();
    net.dispose();
  });

  it("finds planted facts: a zero-update layer is void for every token, a ReLU's zero fraction, a massive bias", () => {
    const net = makeNet(3);
    setParam(net, "blocks.2.fc2.weight", () => 0);
    setParam(net, "blocks.2.fc2.bias", () => 0);
    // fc1 of block 1 ignores its input; 5 of its 16 biases are negative → ReLU zero fraction exactly 5/16
    setParam(net, "blocks.1.fc1.weight", () => 0);
    setParam(net, "blocks.1.fc1.bias", (i) => (i % 3 === 0 && i < 15 ? -1 : 0.5));
    setParam(net, "blocks.0.fc2.bias", (i) => (i === 6 ? 4000 : 0));
    const x = input();
    const rec = new ActivationRecorder(net, { record: ["blocks.*", "blocks.*.act", "blocks.1.fc1"] });
    runValues(net, x);
    const t = rec.table();
    const v = voidsFromTable(t, { layers: "blocks.*" });
    expect(v.voidFraction[2]).toBe(1);
    const s = sparsityByLayer(t).find((l) => l.module === "blocks.1.act")!;
    expect(s.nonzeroFraction).toBe(11 / 16);
    // recorded before the ReLU, the positive fraction is the same measure
    expect(sparsityByLayer(t).find((l) => l.module === "blocks.1.fc1")!.positiveFraction).toBe(11 / 16);
    const m = massiveFromTable(t);
    const b0 = m.flags.filter((f) => f.module === "blocks.0");
    expect(b0.length).toBe(B * T);
    expect(new Set(b0.map((f) => f.feature))).toEqual(new Set([6]));
    const lc = contributionByLayer(t).find((c) => c.module === "blocks.2")!;
    expect(lc.relative).toBe(0);
    x.dispose();
    net.dispose();
  });
});

describe("interventions", () => {
  it("skip makes out = in exactly; scale, overwrite and top-k go through the same patch; removing restores the output", () => {
    const net = makeNet(4);
    const x = input();
    const plain = runValues(net, x);

    const skip = skipModules(net, "blocks.1");
    const rec = new ActivationRecorder(net, { record: ["blocks.0", "blocks.1"], fullTensors: true });
    const skipped = runValues(net, x);
    rec.detach();
    skip.remove();
    const t = rec.table();
    for (let i = 0; i < B * T; i++) expect(t.values[B * T + i]).toEqual(t.values[i]);
    expect(skipped).not.toEqual(plain);
    expect(runValues(net, x)).toEqual(plain);

    const scale = scaleModules(net, "head", 2);
    const doubled = runValues(net, x);
    scale.remove();
    doubled.forEach((v, i) => expect(v).toBe(2 * plain[i]!));

    const zeros = tf.zeros([B, T, C]);
    const over = overwriteModules(net, "head", zeros);
    expect(runValues(net, x).every((v) => v === 0)).toBe(true);
    over.remove();
    zeros.dispose();
    const bad = overwriteModules(net, "head", () => tf.zeros([1]));
    expect(() => net.call(x)).toThrow(ShapeError);
    bad.remove();

    const topk = topkModules(net, "blocks.*.act", 3);
    const rec2 = new ActivationRecorder(net, { record: "blocks.*.act" });
    runValues(net, x);
    rec2.detach();
    topk.remove();
    for (const fz of rec2.table().fracZero) expect(fz).toBeGreaterThanOrEqual(1 - 3 / 16);
    expect(runValues(net, x)).toEqual(plain);

    // a patch that returns its input unchanged is the identity
    const id = patchModules(net, "**", (out) => out);
    expect(runValues(net, x)).toEqual(plain);
    id.remove();
    x.dispose();
    net.dispose();
  });

  it("a massive activation planted at one entry of a model's residual stream is found at that exact location", () => {
    const net = makeNet(7);
    const x = input();
    const spike = tf.tidy(() => tf.oneHot(tf.tensor1d([(1 * T + 3) * D + 5], "int32"), B * T * D).reshape([B, T, D]).mul(5000));
    const plant = overwriteModules(net, "blocks.1", (out) => tf.add(out, spike));
    const rec = new ActivationRecorder(net, { record: "blocks.*" });
    runValues(net, x);
    rec.detach();
    plant.remove();
    const flags = massiveFromTable(rec.table()).flags;
    expect(flags.filter((f) => f.module === "blocks.1").map((f) => [f.batch, f.position, f.feature])).toEqual([[1, 3, 5]]);
    // the residual stream carries it on, at the same place
    for (const f of flags) expect([f.batch, f.position, f.feature]).toEqual([1, 3, 5]);
    spike.dispose();
    x.dispose();
    net.dispose();
  });

  it("skip effects: no effect on earlier layers, the skipped update vanishes", () => {
    const net = makeNet(5);
    const x = input();
    const before = tf.memory().numTensors;
    const layers = ["blocks.0", "blocks.1", "blocks.2", "blocks.3"];
    const e = measureSkipEffects(net, layers, () => net.call(x));
    expect(tf.memory().numTensors).toBe(before);
    for (let s = 0; s < L; s++) {
      for (let l = 0; l < s; l++) expect(e.futureEffect[s]![l]).toBe(0);
      expect(e.futureEffect[s]![s]).toBeCloseTo(1, 6);
      expect(e.outputEffect[s]).toBeGreaterThan(0);
    }
    x.dispose();
    net.dispose();
  });

  it("LAC skip chain: the last layer's output becomes the last active layer's output per token", () => {
    const net = makeNet(6);
    const x = input();
    // a zero update in the last layer makes it void for every token
    setParam(net, "blocks.3.fc2.weight", () => 0);
    setParam(net, "blocks.3.fc2.bias", () => 0);
    const layers = ["blocks.0", "blocks.1", "blocks.2", "blocks.3"];
    const orig = new ActivationRecorder(net, { record: ["embed", ...layers], fullTensors: true });
    const chain = lacSkipChain(net, layers, 0.8);
    const after = new ActivationRecorder(net, { record: "blocks.3", fullTensors: true });
    runValues(net, x);
    chain.remove();
    orig.detach();
    after.detach();
    const o = orig.table();
    const a = after.table();
    const rowsOf = (m: string) => o.module.flatMap((n, r) => (n === m ? [r] : []));
    const act = chain.lastActivated;
    expect(act.length).toBe(L);
    let someVoid = false;
    for (let tok = 0; tok < B * T; tok++) {
      let last = -1;
      for (let l = 0; l < L; l++) if (act[l]![tok]) last = l;
      if (!act[L - 1]![tok]) someVoid = true;
      const src = last < 0 ? "embed" : layers[last]!;
      expect(a.values[tok]).toEqual(o.values[rowsOf(src)[tok]!]);
    }
    expect(someVoid).toBe(true);
    expect(act[L - 1]!.every((v) => v === 0)).toBe(true);
    // norms that only grow (positive stream, positive updates): every layer active, output bitwise unchanged
    const net2 = makeNet(6);
    setParam(net2, "embed.weight", () => 0);
    setParam(net2, "embed.bias", () => 1);
    for (const l of layers) {
      setParam(net2, `${l}.fc2.weight`, () => 0);
      setParam(net2, `${l}.fc2.bias`, () => 0.5);
    }
    const plain2 = runValues(net2, x);
    const chain2 = lacSkipChain(net2, layers, 0);
    const y = runValues(net2, x);
    expect(chain2.lastActivated.every((r) => r.every((v) => v === 1))).toBe(true);
    chain2.remove();
    expect(y).toEqual(plain2);
    net2.dispose();
    x.dispose();
    net.dispose();
  });
});
