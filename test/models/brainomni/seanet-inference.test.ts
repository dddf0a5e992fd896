import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../src/engine/backend.js";
import { manualSeed } from "../../../src/engine/random.js";
import { SGD } from "../../../src/nn/optim.js";
import { trainStep } from "../../../src/nn/train-step.js";
import { DEMO_TOKENIZER } from "../../../src/models/brainomni/config.js";
import { blockDiagonalQueries, multiHeadAttention, sharedQueryAttention } from "../../../src/models/brainomni/cross-attention.js";
import { InferenceLinear } from "../../../src/models/brainomni/derived.js";
import { EuclideanCodebook } from "../../../src/models/brainomni/quantizer.js";
import { reflectPadNLC, SConv1d, SConvTranspose1d, SLSTM } from "../../../src/models/brainomni/seanet.js";
import { BrainTokenizer } from "../../../src/models/brainomni/tokenizer.js";

beforeAll(async () => {
  await initBackend();
  manualSeed(3);
});

/** max |a − b| / max(1, max |b|): the inference path rounds a bias or a sum in another order. */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(a.shape).toEqual(b.shape);
  let d = 0;
  let m = 1;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    m = Math.max(m, Math.abs(y[i]!));
  }
  return d / m;
}

/** The reflect padding as slices, reversals and a concatenation (the plain path). */
function reflectByParts(x: tf.Tensor, left: number, right: number): tf.Tensor {
  const L = x.shape[1]!;
  const parts: tf.Tensor[] = [];
  if (left) parts.push(tf.reverse(tf.slice(x, [0, 1, 0], [-1, left, -1]), 1));
  parts.push(x);
  if (right) parts.push(tf.reverse(tf.slice(x, [0, L - 1 - right, 0], [-1, right, -1]), 1));
  return tf.concat(parts, 1);
}

/** Output of `m` on x in training mode (the differentiable matrix-product path). */
function trainingOutput(m: SConv1d | SConvTranspose1d, x: tf.Tensor): tf.Tensor {
  m.train(true);
  const y = m.call(x);
  m.eval();
  return y;
}

describe("SEANet inference path", () => {
  it("reflect padding (one MirrorPad kernel) equals the slice construction in value and gradient", () => {
    for (const [L, left, right] of [[9, 3, 4], [6, 0, 5], [12, 2, 0], [4, 4, 3]] as const) {
      const x = tf.randomNormal([2, L, 3]);
      if (L > Math.max(left, right)) {
        const dy = tf.randomNormal([2, L + left + right, 3]);
        const y = reflectPadNLC(x, left, right);
        expect(Array.from(y.dataSync())).toEqual(Array.from(reflectByParts(x, left, right).dataSync()));
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reflectPadNLC(t, left, right), dy)))(x);
        const gRef = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reflectByParts(t, left, right), dy)))(x);
        expect(Array.from(g.dataSync())).toEqual(Array.from(gRef.dataSync()));
        tf.dispose([dy, y, g, gRef]);
      } else {
        // Shorter than the pad: zeros appended first (EnCodec pad1d), trimmed afterwards.
        const extra = Math.max(left, right) - L + 1;
        const want = tf.slice(reflectByParts(tf.pad(x, [[0, 0], [0, extra], [0, 0]]), left, right), [0, 0, 0], [-1, L + left + right, -1]);
        expect(Array.from(reflectPadNLC(x, left, right).dataSync())).toEqual(Array.from(want.dataSync()));
        want.dispose();
      }
      x.dispose();
    }
  });

  it("eval-mode convolutions (kept filters, bias inside the kernel) match the training path", () => {
    for (const [cin, cout, k, s, L] of [[8, 16, 7, 1, 40], [16, 32, 8, 4, 64], [32, 32, 1, 1, 9]] as const) {
      const conv = new SConv1d(cin, cout, k, s).eval();
      conv.prepareDerived();
      const x = tf.randomNormal([3, L, cin]);
      const before = tf.memory().numTensors;
      const y = conv.call(x);
      expect(tf.memory().numTensors).toBe(before + 1);
      const ref = trainingOutput(conv, x);
      expect(relDiff(y, ref)).toBeLessThanOrEqual(1e-6);
      tf.dispose([x, y, ref]);
      conv.derived.release();
      conv.dispose();
    }
    const tr = new SConvTranspose1d(16, 8, 8, 4).eval();
    const x = tf.randomNormal([2, 10, 16]);
    const y = tr.call(x);
    const ref = trainingOutput(tr, x);
    expect(relDiff(y, ref)).toBe(0);
    tf.dispose([x, y, ref]);
    tr.derived.release();
    tr.dispose();
  });

  it("training still differentiates through weight norm and the reflect padding (finite differences)", () => {
    const conv = new SConv1d(3, 4, 4, 2); // training mode: stride 2, reflect pads 1 left and 2 right (x[1]; x[9], x[8])
    const x = tf.randomNormal([2, 11, 3]);
    const r = tf.randomNormal([2, 6, 4]);
    const loss = (): tf.Scalar => tf.sum(tf.mul(conv.call(x), r)) as tf.Scalar;
    const params = conv.stateDict();
    const vars = ["conv.conv.weight_g", "conv.conv.weight_v", "conv.conv.bias"].map((n) => params.get(n) as tf.Variable);
    const { grads } = tf.variableGrads(loss, vars);
    const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(conv.call(t), r)))(x);
    const h = 1e-2;
    const fd = (bump: (d: number) => void): number => {
      bump(h);
      const up = tf.tidy(() => loss().dataSync()[0]!);
      bump(-2 * h);
      const down = tf.tidy(() => loss().dataSync()[0]!);
      bump(h);
      return (up - down) / (2 * h);
    };
    const at = (v: tf.Variable, i: number) => (d: number): void => {
      const a = v.dataSync().slice();
      a[i] += d;
      v.assign(tf.tensor(a, v.shape));
    };
    for (const v of vars) {
      const g = grads[v.name]!.dataSync();
      for (const i of [0, Math.floor(v.size / 2), v.size - 1]) expect(g[i]!, `${v.name}[${i}]`).toBeCloseTo(fd(at(v, i)), 2);
    }
    // x: the samples copied into both pads (1 and L−2 = 9) collect the reflected gradient too.
    const xv = tf.variable(x);
    const lossX = (): tf.Scalar => tf.sum(tf.mul(conv.call(xv), r)) as tf.Scalar;
    const gxs = gx.dataSync();
    for (const i of [3 * 1 + 0, 3 * 9 + 2, 3 * 5 + 1, 33 + 3 * 1 + 2]) {
      const bump = (d: number): void => {
        const a = xv.dataSync().slice();
        a[i] += d;
        xv.assign(tf.tensor(a, xv.shape));
      };
      bump(h);
      const up = tf.tidy(() => lossX().dataSync()[0]!);
      bump(-2 * h);
      const down = tf.tidy(() => lossX().dataSync()[0]!);
      bump(h);
      expect(gxs[i]!, `x[${i}]`).toBeCloseTo((up - down) / (2 * h), 2);
    }
    tf.dispose([x, r, gx, xv, ...Object.values(grads)]);
    conv.dispose();
  });

  it("kept filters follow every weight change: assign, loadStateDict, a training step", () => {
    const conv = new SConv1d(4, 6, 3).eval();
    const x = tf.randomNormal([2, 20, 4]);
    const check = (what: string): void => {
      const y = conv.call(x);
      const ref = trainingOutput(conv, x);
      expect(relDiff(y, ref), what).toBeLessThanOrEqual(1e-6);
      tf.dispose([y, ref]);
    };
    const y0 = conv.call(x);
    const v = conv.stateDict().get("conv.conv.weight_v") as tf.Variable;
    const g = conv.stateDict().get("conv.conv.weight_g") as tf.Variable;
    tf.tidy(() => v.assign(tf.mul(v, -1.5)));
    check("after assign to weight_v");
    tf.tidy(() => g.assign(tf.mul(g, 0.5)));
    check("after assign to weight_g");
    const other = new SConv1d(4, 6, 3);
    conv.loadStateDict(other.stateDict());
    check("after loadStateDict");
    const y1 = conv.call(x);
    const ref1 = trainingOutput(other.eval(), x);
    expect(relDiff(y1, ref1)).toBeLessThanOrEqual(1e-6);
    conv.train(true);
    const target = tf.randomNormal([2, 20, 6]);
    const opt = new SGD(conv.trainableParameters(), { lr: 0.5 });
    trainStep(conv, () => tf.mean(tf.square(tf.sub(conv.call(x), target))) as tf.Scalar, opt);
    conv.eval();
    const y2 = conv.call(x);
    expect(relDiff(y2, y1)).toBeGreaterThan(1e-3);
    check("after a training step");
    tf.dispose([y0, y1, ref1, y2, target, x]);
    opt.dispose();
    other.derived.release();
    other.dispose();
    conv.derived.release();
    conv.dispose();
  });

  it("eval-mode SLSTM (kept transposed weights) equals the nn LSTM path and follows weight changes", () => {
    const m = new SLSTM(8).eval();
    m.prepareDerived();
    const x = tf.randomNormal([3, 6, 8]);
    const check = (what: string): void => {
      const before = tf.memory().numTensors;
      const y = m.call(x);
      expect(tf.memory().numTensors, what).toBe(before + 1);
      m.train(true);
      const ref = m.call(x);
      m.eval();
      expect(relDiff(y, ref), what).toBeLessThanOrEqual(1e-6);
      tf.dispose([y, ref]);
    };
    check("fresh");
    for (const name of ["weight_ih_l0", "weight_hh_l1", "bias_hh_l0"]) {
      const p = m.stateDict().get(`lstm.${name}`) as tf.Variable;
      tf.tidy(() => p.assign(tf.add(p, tf.randomNormal(p.shape, 0, 0.3))));
      check(`after assign to ${name}`);
    }
    x.dispose();
    m.derived.release();
    m.dispose();
  });

  it("eval-mode codebook lookups (kept embedᵀ and ‖e‖²) equal the training path, also after embed changes", () => {
    const cb = new EuclideanCodebook(16, 40).eval();
    const x = tf.randomNormal([50, 16]);
    const check = (what: string): void => {
      const fast = cb.call(x);
      cb.train(true);
      const ref = cb.call(x);
      cb.eval();
      expect(Array.from(fast.indices.dataSync()), what).toEqual(Array.from(ref.indices.dataSync()));
      expect(Array.from(fast.quantized.dataSync()), what).toEqual(Array.from(ref.quantized.dataSync()));
      tf.dispose([fast.indices, fast.quantized, ref.indices, ref.quantized]);
    };
    tf.tidy(() => cb.embed.assign(tf.randomNormal([40, 16])));
    check("after assign");
    const first = cb.call(x);
    cb.kmeansInit(x);
    check("after k-means");
    const second = cb.call(x);
    expect(Array.from(second.indices.dataSync())).not.toEqual(Array.from(first.indices.dataSync()));
    tf.dispose([first.indices, first.quantized, second.indices, second.quantized, x]);
    cb.derived.release();
    cb.dispose();
  });

  it("InferenceLinear: eval products with a kept Wᵀ equal Linear's x·Wᵀ bit for bit, also after assigns", () => {
    const lin = new InferenceLinear(12, 20).eval();
    const x = tf.randomNormal([2, 5, 12]);
    const check = (what: string): void => {
      const y = lin.call(x);
      lin.train(true);
      const ref = lin.call(x);
      lin.eval();
      expect(Array.from(y.dataSync()), what).toEqual(Array.from(ref.dataSync()));
      tf.dispose([y, ref]);
    };
    check("fresh");
    tf.tidy(() => lin.weight.assign(tf.randomNormal([20, 12])));
    check("after assign to weight");
    tf.tidy(() => lin.bias!.assign(tf.randomNormal([20])));
    check("after assign to bias");
    expect(lin.derived.size).toBe(1);
    x.dispose();
    lin.derived.release();
    lin.dispose();
  });

  it("shared-query attention (one block-diagonal product for all groups and heads) equals per-group multi-head attention", () => {
    for (const [G, C, P, D, H] of [[8, 64, 16, 256, 4], [3, 5, 2, 12, 3], [1, 7, 4, 8, 1]] as const) {
      const q = tf.randomNormal([P, D]);
      const k = tf.randomNormal([G, C, D]);
      const v = tf.randomNormal([G, C, D]);
      const block = blockDiagonalQueries(q, H);
      const got = sharedQueryAttention(block, k, v, H);
      const want = multiHeadAttention(tf.tile(q.expandDims(0), [G, 1, 1]), k, v, H);
      expect(relDiff(got, want), `G ${G} C ${C} P ${P} D ${D} H ${H}`).toBe(0); // the zeros add exact zeros
      tf.dispose([q, k, v, block, got, want]);
    }
  });

  it("a tokenizer in eval mode keeps its derived weights, follows a load, leaks nothing per forward; dispose frees them all", () => {
    const before = tf.memory().numTensors;
    const tok = new BrainTokenizer(DEMO_TOKENIZER);
    for (const cb of tok.quantizer.codebooks()) tf.tidy(() => (cb.embed.assign(tf.randomNormal(cb.embed.shape)), cb.inited.assign(tf.ones([1]))));
    const x = tf.randomNormal([1, 3, DEMO_TOKENIZER.windowLength]);
    const pos = tf.randomNormal([1, 3, 6]);
    const sensorType = tf.tensor2d([[0, 1, 2]], [1, 3], "int32");
    tok.eval();
    // The encoder alone in training mode: the plain arithmetic (the quantizer stays in eval, no EMA update).
    tok.encoder.train(true);
    const plain = tok.tokenize({ x, pos, sensorType });
    tok.encoder.eval();
    const n0 = tf.memory().numTensors;
    const fast = tok.tokenize({ x, pos, sensorType });
    expect(tf.memory().numTensors).toBe(n0 + 2);
    expect(Array.from(fast.indices.dataSync())).toEqual(Array.from(plain.indices.dataSync()));
    expect(relDiff(fast.features, plain.features)).toBeLessThanOrEqual(1e-5);
    // Loading other weights into the eval-mode tokenizer: every kept tensor follows (same codes as a fresh model).
    const other = new BrainTokenizer(DEMO_TOKENIZER);
    for (const cb of other.quantizer.codebooks()) tf.tidy(() => (cb.embed.assign(tf.randomNormal(cb.embed.shape)), cb.inited.assign(tf.ones([1]))));
    other.eval();
    tok.loadStateDict(other.stateDict());
    const n1 = tf.memory().numTensors;
    const loaded = tok.tokenize({ x, pos, sensorType });
    expect(tf.memory().numTensors).toBe(n1 + 2);
    const fresh = other.tokenize({ x, pos, sensorType });
    expect(Array.from(loaded.indices.dataSync())).toEqual(Array.from(fresh.indices.dataSync()));
    expect(Array.from(loaded.features.dataSync())).toEqual(Array.from(fresh.features.dataSync()));
    expect(Array.from(loaded.indices.dataSync())).not.toEqual(Array.from(fast.indices.dataSync()));
    tf.dispose([plain.features, plain.indices, fast.features, fast.indices, loaded.features, loaded.indices, fresh.features, fresh.indices, x, pos, sensorType]);
    other.dispose();
    tok.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
