import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import {
  BatchNorm1d, Conv1d, ConvTranspose1d, Embedding, FeedForward, LayerNorm, Linear, LSTM, MultiheadAttention,
  RMSNorm, RotaryEmbedding, SwiGLU, TransformerEncoderLayer, elu, gelu, relu, selu, silu, type AnyModule,
} from "../../src/nn/index.js";
import type { HostTensor } from "../../src/nn/module.js";
import { expectClose, loadGolden, tensorOf } from "./golden.js";

let G: Map<string, HostTensor>;
beforeAll(async () => {
  await initBackend();
  G = loadGolden("layers.safetensors");
});

/**
 * Loads `<name>.param.*` into `m`, runs `fwd` on `<name>.in.*`, and compares
 * outputs, input gradients and parameter gradients of loss = Σ out·cot with PyTorch.
 */
function check(name: string, m: AnyModule | null, fwd: (ins: tf.Tensor[]) => tf.Tensor[], tol = 1e-5): void {
  const pick = (kind: string): [string, HostTensor][] =>
    [...G].filter(([k]) => k.startsWith(`${name}.${kind}.`)).map(([k, v]) => [k.slice(name.length + kind.length + 2), v]);
  if (m) m.loadStateDict(new Map(pick("param")));
  const before = tf.memory().numTensors;
  const ins = pick("in").map(([, h]) => {
    const t = tensorOf(h);
    if (h.dtype !== "float32") return t;
    const v = tf.variable(t);
    t.dispose();
    return v;
  });
  const params = m ? m.namedParameters() : [];
  const cots = pick("cot").map(([, h]) => tensorOf(h));
  let outs: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    outs = fwd(ins).map((o) => tf.keep(o));
    return tf.addN(outs.map((o, i) => tf.sum(tf.mul(o, cots[i]!)))) as tf.Scalar;
  }, [...ins.filter((t): t is tf.Variable => t instanceof tf.Variable), ...params.map(([, p]) => p)]);
  outs.forEach((o, i) => expectClose(`${name} out ${i}`, o, G.get(`${name}.out.${i}`)!, tol));
  ins.forEach((x, i) => {
    const want = G.get(`${name}.gin.${i}`);
    if (want) expectClose(`${name} grad of input ${i}`, grads[(x as tf.Variable).name]!, want, tol);
  });
  for (const [pn, p] of params) expectClose(`${name} grad of ${pn}`, grads[p.name]!, G.get(`${name}.grad.${pn}`)!, tol);
  for (const [bn, b] of m ? m.namedBuffers() : []) {
    const want = G.get(`${name}.after.${bn}`);
    if (want) expectClose(`${name} buffer ${bn}`, b, want, tol);
  }
  tf.dispose([value, ...ins, ...cots, ...outs, ...Object.values(grads)]);
  expect(tf.memory().numTensors, `${name} leaked tensors`).toBe(before);
  m?.dispose();
}

const one = (m: AnyModule) => (ins: tf.Tensor[]) => [m.call(ins[0]!) as tf.Tensor];

describe("layers match PyTorch (outputs and gradients, max abs error ≤ 1e-5)", () => {
  it("Linear", () => {
    let m = new Linear(5, 7);
    check("linear", m, one(m));
    m = new Linear(5, 7, { bias: false });
    check("linear_nobias", m, one(m));
  });
  it("Embedding", () => {
    const m = new Embedding(10, 4);
    check("embedding", m, one(m));
  });
  it("LayerNorm, RMSNorm", () => {
    const ln = new LayerNorm(6);
    check("layernorm", ln, one(ln));
    const rms = new RMSNorm(6, { eps: 1e-6 });
    check("rmsnorm", rms, one(rms));
  });
  it("BatchNorm1d in training (batch statistics, running averages) and eval", () => {
    const t = new BatchNorm1d(4);
    check("batchnorm_train", t, one(t));
    const e = new BatchNorm1d(4).eval();
    check("batchnorm_eval", e, one(e));
  });
  it("activations", () => {
    const fns: Record<string, (x: tf.Tensor) => tf.Tensor> = {
      elu: (x) => elu(x), elu_half: (x) => elu(x, 0.5), selu, gelu: (x) => gelu(x), gelu_tanh: (x) => gelu(x, "tanh"), silu, relu,
    };
    for (const [k, f] of Object.entries(fns)) check(`act_${k}`, null, (ins) => [f(ins[0]!)]);
  });
  it("Conv1d: stride, reflect/replicate/circular/zeros padding, dilation, groups, weight norm", () => {
    const cases: [string, Conv1d][] = [
      ["conv_reflect", new Conv1d(3, 5, 4, { stride: 2, padding: 3, paddingMode: "reflect" })],
      ["conv_dilated", new Conv1d(3, 4, 3, { padding: 2, dilation: 2 })],
      ["conv_groups", new Conv1d(4, 6, 3, { padding: 1, groups: 2, paddingMode: "replicate" })],
      ["conv_circular", new Conv1d(2, 3, 3, { padding: 1, paddingMode: "circular", bias: false })],
      ["conv_wn", new Conv1d(3, 4, 5, { padding: 2, paddingMode: "reflect", weightNorm: true })],
    ];
    for (const [n, m] of cases) check(n, m, one(m));
  });
  it("ConvTranspose1d: stride, padding, output padding, groups, dilation, weight norm", () => {
    const cases: [string, ConvTranspose1d][] = [
      ["convt", new ConvTranspose1d(4, 3, 5, { stride: 3, padding: 1, outputPadding: 1 })],
      ["convt_wn", new ConvTranspose1d(4, 3, 4, { stride: 2, weightNorm: true })],
      ["convt_groups", new ConvTranspose1d(4, 6, 3, { stride: 2, padding: 1, groups: 2, dilation: 2 })],
    ];
    for (const [n, m] of cases) check(n, m, one(m));
  });
  it("LSTM (2 layers, gate order i f g o)", () => {
    const m = new LSTM(5, 6, { numLayers: 2 });
    check("lstm", m, (ins) => {
      const { output, h, c } = m.call(ins[0]!);
      return [output, h, c];
    });
  });
  it("MultiheadAttention: self with key padding, causal, cross with boolean and additive masks", () => {
    const kpm = tf.tensor2d([[0, 0, 0, 1], [0, 0, 0, 0]], [2, 4], "bool");
    const a = new MultiheadAttention(8, 2, { batchFirst: true });
    check("mha_self", a, (ins) => [a.call(ins[0]!, ins[0]!, ins[0]!, { keyPaddingMask: kpm })]);
    const b = new MultiheadAttention(8, 4);
    check("mha_causal", b, (ins) => [b.call(ins[0]!, ins[0]!, ins[0]!, { isCausal: true })]);
    const cm = tf.tensor2d([[0, 1, 0, 0, 1], [0, 1, 0, 0, 1], [0, 1, 0, 0, 1]], [3, 5], "bool");
    const c = new MultiheadAttention(8, 2, { batchFirst: true });
    check("mha_cross", c, (ins) => [c.call(ins[0]!, ins[1]!, ins[1]!, { attnMask: cm })]);
    const add = tensorOf(G.get("mha_additive.mask")!);
    const d = new MultiheadAttention(8, 2, { batchFirst: true });
    check("mha_additive", d, (ins) => [d.call(ins[0]!, ins[1]!, ins[1]!, { attnMask: add })]);
    tf.dispose([kpm, cm, add]);
  });
  it("TransformerEncoderLayer, post-norm and pre-norm", () => {
    for (const normFirst of [false, true]) {
      const m = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, activation: "gelu", batchFirst: true, normFirst }).eval();
      check(normFirst ? "encoder_pre" : "encoder_post", m, one(m));
    }
  });
  it("FeedForward (GELU) and SwiGLU", () => {
    const f = new FeedForward(6, 12);
    check("feedforward", f, one(f));
    const s = new SwiGLU(6, 10);
    check("swiglu", s, one(s));
  });
  it("RotaryEmbedding, half-split and adjacent-pair layouts", () => {
    const h = new RotaryEmbedding(8);
    check("rope_half", null, (ins) => [h.call(ins[0]!)]);
    const p = new RotaryEmbedding(8, { interleaved: true });
    check("rope_pairs", null, (ins) => [p.call(ins[0]!)]);
  });
});
