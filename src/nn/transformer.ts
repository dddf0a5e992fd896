import * as tf from "@tensorflow/tfjs";
import { MultiheadAttention, type AttentionCallOptions } from "./attention.js";
import { Dropout } from "./dropout.js";
import { activation, type ActivationName } from "./functional.js";
import { Linear } from "./linear.js";
import { LayerNorm } from "./norms.js";
import { Module } from "./module.js";

/** Options of `TransformerEncoderLayer` (PyTorch defaults). */
export interface TransformerEncoderLayerOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout on attention weights, after attention, inside and after the MLP (default 0.1). */
  dropout?: number;
  /** `"relu"` (default) or `"gelu"` (exact). */
  activation?: ActivationName;
  /** LayerNorm eps (default 1e-5). */
  layerNormEps?: number;
  /** Inputs [N, T, E] instead of [T, N, E] (default false). */
  batchFirst?: boolean;
  /** Pre-norm (`x + f(norm(x))`) instead of post-norm (`norm(x + f(x))`) (default false). */
  normFirst?: boolean;
  /** Biases in linear layers and norms (default true). */
  bias?: boolean;
}

/**
 * `torch.nn.TransformerEncoderLayer` with the same parameter names
 * (`self_attn.in_proj_weight`, `self_attn.out_proj.*`, `linear1`, `linear2`,
 * `norm1`, `norm2`), pre- or post-norm.
 */
export class TransformerEncoderLayer extends Module<[tf.Tensor, AttentionCallOptions?], tf.Tensor> {
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly normFirst: boolean;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(readonly dModel: number, readonly nHead: number, opts: TransformerEncoderLayerOptions = {}) {
    super();
    const ff = opts.dimFeedforward ?? 2048;
    const p = opts.dropout ?? 0.1;
    const bias = opts.bias ?? true;
    const eps = opts.layerNormEps ?? 1e-5;
    this.normFirst = opts.normFirst ?? false;
    this.selfAttn = this.registerModule("self_attn", new MultiheadAttention(dModel, nHead, { dropout: p, bias, batchFirst: opts.batchFirst ?? false }));
    this.linear1 = this.registerModule("linear1", new Linear(dModel, ff, { bias }));
    this.dropout = this.registerModule("dropout", new Dropout(p));
    this.linear2 = this.registerModule("linear2", new Linear(ff, dModel, { bias }));
    this.norm1 = this.registerModule("norm1", new LayerNorm(dModel, { eps, bias }));
    this.norm2 = this.registerModule("norm2", new LayerNorm(dModel, { eps, bias }));
    this.dropout1 = this.registerModule("dropout1", new Dropout(p));
    this.dropout2 = this.registerModule("dropout2", new Dropout(p));
    this.act = activation(opts.activation ?? "relu");
  }

  /** @param x [T, N, E] ([N, T, E] with batchFirst) → same shape */
  forward(x: tf.Tensor, opts: AttentionCallOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      const sa = (h: tf.Tensor): tf.Tensor => this.dropout1.call(this.selfAttn.call(h, h, h, opts));
      const ff = (h: tf.Tensor): tf.Tensor => this.dropout2.call(this.linear2.call(this.dropout.call(this.act(this.linear1.call(h)))));
      if (this.normFirst) {
        const h = tf.add(x, sa(this.norm1.call(x)));
        return tf.add(h, ff(this.norm2.call(h)));
      }
      const h = this.norm1.call(tf.add(x, sa(x)));
      return this.norm2.call(tf.add(h, ff(h)));
    });
  }
}
