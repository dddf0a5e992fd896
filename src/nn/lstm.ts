import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../errors.js";
import { uniform } from "./init.js";
import { Module } from "./module.js";

/** Options of `LSTM`. */
export interface LSTMOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Biases `bias_ih_l*` and `bias_hh_l*` (default true). */
  bias?: boolean;
  /** Input and output as [N, T, C] instead of PyTorch's default [T, N, C] (default false). */
  batchFirst?: boolean;
}

/** Output of `LSTM`: the top layer's hidden states and each layer's final (h, c). */
export interface LSTMOutput {
  /** [T, N, H] (or [N, T, H] with `batchFirst`). */
  output: tf.Tensor;
  /** [numLayers, N, H] */
  h: tf.Tensor;
  /** [numLayers, N, H] */
  c: tf.Tensor;
}

/**
 * Unidirectional multi-layer LSTM, as `torch.nn.LSTM`: gate order i, f, g, o;
 * parameters `weight_ih_l{k}` [4H, in], `weight_hh_l{k}` [4H, H],
 * `bias_ih_l{k}`, `bias_hh_l{k}` [4H]; all initialised U(±1/√H). The initial
 * state is zero unless given.
 */
export class LSTM extends Module<[tf.Tensor, { h: tf.Tensor; c: tf.Tensor }?], LSTMOutput> {
  readonly numLayers: number;
  readonly batchFirst: boolean;
  private readonly layers: { wih: tf.Variable; whh: tf.Variable; bih: tf.Variable | null; bhh: tf.Variable | null }[] = [];

  constructor(readonly inputSize: number, readonly hiddenSize: number, opts: LSTMOptions = {}) {
    super();
    this.numLayers = opts.numLayers ?? 1;
    this.batchFirst = opts.batchFirst ?? false;
    const H = hiddenSize;
    const bound = 1 / Math.sqrt(H);
    const bias = opts.bias ?? true;
    for (let l = 0; l < this.numLayers; l++) {
      const inp = l === 0 ? inputSize : H;
      this.layers.push({
        wih: this.registerParameter(`weight_ih_l${l}`, uniform([4 * H, inp], bound))!,
        whh: this.registerParameter(`weight_hh_l${l}`, uniform([4 * H, H], bound))!,
        bih: this.registerParameter(`bias_ih_l${l}`, bias ? uniform([4 * H], bound) : null),
        bhh: this.registerParameter(`bias_hh_l${l}`, bias ? uniform([4 * H], bound) : null),
      });
    }
  }

  /**
   * @param x [T, N, inputSize] (or [N, T, inputSize] with `batchFirst`)
   * @param state optional initial `h`, `c`, each [numLayers, N, H]
   */
  forward(x: tf.Tensor, state?: { h: tf.Tensor; c: tf.Tensor }): LSTMOutput {
    if (x.rank !== 3 || x.shape[2] !== this.inputSize) throw new ShapeError("LSTM input", ["T", "N", this.inputSize], x.shape);
    const H = this.hiddenSize;
    return tf.tidy(() => {
      let seq = this.batchFirst ? x.transpose([1, 0, 2]) : x; // [T, N, C]
      const [T, N] = seq.shape as [number, number];
      const hs: tf.Tensor[] = [];
      const cs: tf.Tensor[] = [];
      this.layers.forEach((p, l) => {
        // Input projections of all steps in one product; only h·W_hhᵀ is sequential.
        let xw = tf.matMul(seq.reshape([T * N, -1]), p.wih, false, true);
        if (p.bih) xw = tf.add(xw, p.bih);
        if (p.bhh) xw = tf.add(xw, p.bhh);
        const steps = tf.unstack(xw.reshape([T, N, 4 * H]));
        let h = state ? tf.squeeze(tf.slice(state.h, [l, 0, 0], [1, -1, -1]), [0]) : tf.zeros([N, H]);
        let c = state ? tf.squeeze(tf.slice(state.c, [l, 0, 0], [1, -1, -1]), [0]) : tf.zeros([N, H]);
        const outs: tf.Tensor[] = [];
        // Transposed once per layer: a transposed operand is laid out afresh on every product.
        const whhT = tf.transpose(p.whh);
        for (let t = 0; t < T; t++) {
          const gates = tf.add(steps[t]!, tf.matMul(h, whhT));
          const [i, f, g, o] = tf.split(gates, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
          h = tf.mul(tf.sigmoid(o), tf.tanh(c));
          outs.push(h);
        }
        hs.push(h);
        cs.push(c);
        seq = tf.stack(outs);
      });
      return { output: this.batchFirst ? seq.transpose([1, 0, 2]) : seq, h: tf.stack(hs), c: tf.stack(cs) };
    });
  }
}
