import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { MoEFeedForward } from "../../src/moe/layer.js";
import { collectMoEAux, disposeAux } from "../../src/moe/aux.js";
import { routerZLoss, switchAuxLoss } from "../../src/moe/losses.js";
import { ConfigError, ShapeError, ValueError } from "../../src/errors.js";
import { goldens, type MoeCase } from "./golden.js";

beforeAll(async () => {
  await initBackend();
});

/** An MoE layer holding the golden case's weights (router transposed to Linear's [E, d]). */
function goldenLayer(c: MoeCase): MoEFeedForward {
  const moe = new MoEFeedForward(c.d, {
    experts: c.E,
    topK: c.k,
    hidden: c.h,
    capacityFactor: c.capacityFactor,
    glu: c.glu,
    bias: !c.glu,
    activation: c.glu ? "silu" : "gelu",
    renormalize: c.renormalize,
  });
  const p = c.params;
  const sd: Record<string, tf.Tensor> = {
    "router.layer.weight": tf.tensor(p.router!, [c.d, c.E]).transpose(),
    "experts.w_up": tf.tensor(p.wUp!, [c.E, c.d, c.h]),
    "experts.w_down": tf.tensor(p.wDown!, [c.E, c.h, c.d]),
  };
  if (c.glu) sd["experts.w_gate"] = tf.tensor(p.wGate!, [c.E, c.d, c.h]);
  else {
    sd["experts.b_up"] = tf.tensor(p.bUp!, [c.E, c.h]);
    sd["experts.b_down"] = tf.tensor(p.bDown!, [c.E, c.d]);
  }
  moe.loadStateDict(sd);
  tf.dispose(Object.values(sd));
  return moe;
}

const close = (got: ArrayLike<number>, want: number[], tol: number): void => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(got[i]! - w)).toBeLessThan(tol * (1 + Math.abs(w))));
};

describe("MoEFeedForward against the torch oracle", () => {
  for (const c of goldens.moe) {
    it(`${c.name}: output, drops, losses and gradients of every parameter`, () => {
      const moe = goldenLayer(c);
      const before = tf.memory().numTensors;
      const x0 = tf.tensor2d(c.x, [c.T, c.d]);
      const xv = tf.variable(x0);
      x0.dispose();
      const r = tf.tensor2d(c.r, [c.T, c.d]);
      const out = moe.forwardWithAux(xv);
      close(out.output.dataSync(), c.y, 2e-5);
      expect(out.load.droppedFraction.dataSync()[0]).toBeCloseTo(c.dropped / (c.T * c.k), 6);
      expect(Array.from(out.load.kept.dataSync())).toEqual(c.keptPerExpert);
      expect(out.switchLoss.dataSync()[0]).toBeCloseTo(c.aux, 5);
      expect(out.zLoss.dataSync()[0]).toBeCloseTo(c.z, 4);
      tf.dispose(out.output);
      disposeAux(out);
      const vars = [xv, ...moe.parameters()];
      const { value, grads } = tf.variableGrads(() => {
        const { result, loss } = collectMoEAux(moe, () => moe.call(xv));
        return tf.add(tf.sum(tf.mul(result, r)), loss) as tf.Scalar;
      }, vars);
      expect(value.dataSync()[0]).toBeCloseTo(c.loss, 4);
      const names: Record<string, string> = { x: xv.name, router: moe.router.layer.weight.name, wUp: moe.experts.wUp.name, wDown: moe.experts.wDown.name };
      if (c.glu) names.wGate = moe.experts.wGate!.name;
      else Object.assign(names, { bUp: moe.experts.bUp!.name, bDown: moe.experts.bDown!.name });
      for (const [key, varName] of Object.entries(names)) {
        const g = key === "router" ? tf.transpose(grads[varName]!) : grads[varName]!;
        close(g.dataSync(), c.grads[key]!, 1e-4);
        if (key === "router") g.dispose();
      }
      tf.dispose([value, r, ...Object.values(grads)]);
      xv.dispose();
      expect(tf.memory().numTensors).toBe(before);
      moe.dispose();
    });
  }
});

describe("balancing losses: known numbers", () => {
  it("switch loss is 1 under uniform routing and E under collapse; the worked example gives 1.15", () => {
    const e = 8;
    const t = 16;
    const uniform = tf.fill([t, e], 1 / e) as tf.Tensor2D;
    const spread = tf.tensor2d(Array.from({ length: t * 2 }, (_, i) => (Math.floor(i / 2) * 2 + (i % 2)) % e), [t, 2], "int32");
    expect(switchAuxLoss(uniform, spread).dataSync()[0]).toBeCloseTo(1, 6);
    const collapsed = tf.oneHot(tf.zeros([t], "int32"), e).toFloat() as tf.Tensor2D;
    expect(switchAuxLoss(collapsed, tf.zeros([t, 1], "int32") as tf.Tensor2D).dataSync()[0]).toBeCloseTo(e, 5);
    const p = tf.tensor2d([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]);
    expect(switchAuxLoss(p, tf.tensor2d([[0], [0], [1], [0]], [4, 1], "int32")).dataSync()[0]).toBeCloseTo(goldens.losses.switchWorked, 6);
  });
  it("z-loss of all-zero logits with 8 experts is (ln 8)² and matches the two-row example", () => {
    expect(routerZLoss(tf.zeros([5, 8]) as tf.Tensor2D).dataSync()[0]).toBeCloseTo(Math.log(8) ** 2, 5);
    expect(goldens.losses.zZero8).toBeCloseTo(4.324077, 6);
    const rows = goldens.losses.zRows;
    expect(routerZLoss(tf.tensor2d([[2, 0], [1, 1]])).dataSync()[0]).toBeCloseTo((rows[0]! + rows[1]!) / 2, 5);
  });
});

describe("capacity dispatch", () => {
  it("processes exactly C assignments when every token picks the same expert", () => {
    manualSeed(1);
    const moe = new MoEFeedForward(4, { experts: 4, topK: 1, hidden: 6, capacityFactor: 1.25 });
    // A router that sends every token to expert 2.
    moe.router.layer.weight.assign(tf.tensor2d([[0, 0, 0, 0], [0, 0, 0, 0], [50, 50, 50, 50], [0, 0, 0, 0]]));
    const x = tf.abs(tf.randomNormal([16, 4], 0, 1, "float32", 3)).add(0.1) as tf.Tensor2D;
    const out = moe.forwardWithAux(x);
    const c = Math.ceil((16 / 4) * 1.25);
    expect(c).toBe(5);
    expect(Array.from(out.load.routed.dataSync())).toEqual([0, 0, 16, 0]);
    expect(Array.from(out.load.kept.dataSync())).toEqual([0, 0, c, 0]);
    expect(out.load.droppedFraction.dataSync()[0]).toBeCloseTo(11 / 16, 6);
    // Tokens after the first C get no MoE output.
    const y = out.output.arraySync() as number[][];
    for (let t = 0; t < 16; t++) expect(y[t]!.some((v) => v !== 0)).toBe(t < c);
    tf.dispose([x, out.output]);
    disposeAux(out);
    moe.dispose();
  });
  it("in eval mode uses the eval capacity factor", () => {
    const moe = new MoEFeedForward(4, { experts: 4, topK: 1, hidden: 6, capacityFactor: 0.5, evalCapacityFactor: 100 }).eval();
    const x = tf.randomNormal([12, 4], 0, 1, "float32", 5);
    const out = moe.forwardWithAux(x);
    expect(out.load.droppedFraction.dataSync()[0]).toBe(0);
    tf.dispose([x, out.output]);
    disposeAux(out);
    moe.dispose();
  });
});

describe("finite differences", () => {
  it("gradients reach the router and every expert weight (central differences, float32)", () => {
    manualSeed(7);
    const moe = new MoEFeedForward(3, { experts: 3, topK: 2, hidden: 4, capacityFactor: Infinity, renormalize: false });
    const x = tf.randomNormal([5, 3], 0, 1, "float32", 11);
    // A router with well separated choices, so that ±eps never changes the top-k (the MoE is smooth there).
    moe.router.layer.weight.assign(tf.tensor2d([[3, 0, -1], [0, 3, 1], [-2, -1, 3]]));
    const selection = (): number[] => tf.tidy(() => Array.from(moe.router.call(x).indices.dataSync()));
    const chosen = selection();
    const lossOf = (): tf.Scalar =>
      tf.tidy(() => {
        const { result, loss } = collectMoEAux(moe, () => moe.call(x));
        return tf.add(tf.sum(tf.square(result)), tf.mul(loss, 10)) as tf.Scalar;
      });
    const { grads, value } = tf.variableGrads(lossOf, moe.parameters());
    const eps = 1e-2;
    let checked = 0;
    for (const p of moe.parameters()) {
      const g = grads[p.name]!.dataSync();
      const base = p.dataSync().slice();
      for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
        const at = (delta: number): number => {
          const v = base.slice();
          v[i] = base[i]! + delta;
          p.assign(tf.tensor(v, p.shape));
          const l = lossOf();
          expect(selection()).toEqual(chosen);
          const out = l.dataSync()[0]!;
          l.dispose();
          return out;
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        p.assign(tf.tensor(base, p.shape));
        expect(Math.abs(fd - g[i]!), `${p.name}[${i}] fd ${fd} grad ${g[i]}`).toBeLessThan(2e-2 * (1 + Math.abs(fd)));
        checked++;
      }
      expect(Array.from(g).some((v) => v !== 0)).toBe(true);
    }
    expect(checked).toBe(3 * moe.parameters().length);
    tf.dispose([x, value, ...Object.values(grads)]);
    moe.dispose();
  });
});

describe("drop-in use and errors", () => {
  it("call() on [B, L, d] keeps the shape and leaves no tensors behind", () => {
    const moe = new MoEFeedForward(8, { experts: 4, topK: 2, hidden: 16 });
    const x = tf.randomNormal([2, 5, 8]);
    const before = tf.memory().numTensors;
    const y = moe.call(x);
    expect(y.shape).toEqual([2, 5, 8]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const { result, loss, layers } = collectMoEAux(moe, () => moe.call(x));
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(layers).toHaveLength(1);
    expect(layers[0]!.routed.reduce((a, b) => a + b, 0)).toBe(20);
    tf.dispose([result, loss, x]);
    moe.dispose();
  });
  it("rejects bad configs and shapes with typed errors", () => {
    expect(() => new MoEFeedForward(8, { experts: 4, topK: 5, hidden: 16 })).toThrow(ConfigError);
    expect(() => new MoEFeedForward(8, { experts: 0, hidden: 16 })).toThrow(ConfigError);
    expect(() => new MoEFeedForward(8, { experts: 4, hidden: 16, capacityFactor: 0 })).toThrow(ConfigError);
    const moe = new MoEFeedForward(8, { experts: 4, hidden: 16 });
    const bad = tf.zeros([3, 7]);
    expect(() => moe.call(bad)).toThrow(ShapeError);
    const nan = tf.tensor2d([[0, 0, 0, 0, 0, 0, 0, NaN]]);
    const before = tf.memory().numTensors;
    expect(() => moe.call(nan)).toThrow(ValueError);
    // Infinite inputs give ±Inf (or NaN) logits; -Inf would vanish in the softmax.
    const inf = tf.tensor2d([[0, 0, 0, Infinity, 0, 0, 0, 0], [0, -Infinity, 0, 0, 0, 0, 0, 0]]);
    expect(() => moe.call(inf)).toThrow(ValueError);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([bad, nan, inf]);
    moe.dispose();
  });
});

describe("row gather used by dispatch", () => {
  it("host copy and tf.gather paths agree, with zeros for the padding index", async () => {
    const { gatherOrZero } = await import("../../src/moe/dispatch.js");
    const rows = tf.randomNormal([5, 3], 0, 1, "float32", 1) as tf.Tensor2D;
    const idx = tf.tensor1d([4, 5, 0, 2, 5, 1], "int32");
    const [a, b] = [gatherOrZero(rows, idx, true), gatherOrZero(rows, idx, false)];
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync().slice(3, 6))).toEqual([0, 0, 0]);
    tf.dispose([rows, idx, a, b]);
  });
});
