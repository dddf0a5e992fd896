import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError } from "../errors.js";
import { Linear } from "../nn/linear.js";
import { Module, ModuleList } from "../nn/module.js";
import { LayerNorm } from "../nn/norms.js";
import { TransformerEncoderLayer } from "../nn/transformer.js";

/** Size of a `TourTransformer`. */
export interface TourTransformerConfig {
  /** Features per input token. */
  inDim: number;
  dModel: number;
  nHead: number;
  /** Number of transformer blocks. */
  layers: number;
  /** Hidden size of each block's ReLU feed-forward. */
  dimFeedforward: number;
  /** Output classes per token. */
  classes: number;
}

/** Checks a config read from a checkpoint or the command line. */
export function checkTourConfig(c: Partial<TourTransformerConfig>): TourTransformerConfig {
  for (const k of ["inDim", "dModel", "nHead", "layers", "dimFeedforward", "classes"] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) < 1) throw new ConfigError(`config.${k}`, `must be an integer ≥ 1, got ${String(v)}`);
  }
  const cfg = c as TourTransformerConfig;
  if (cfg.dModel % cfg.nHead !== 0) throw new ConfigError("config.nHead", `must divide dModel (${cfg.dModel})`);
  return cfg;
}

/**
 * The small pre-norm transformer the inspection tour and the `inspect` CLI
 * run: `input_proj` (inDim → dModel), `blocks.0..L-1` (nn's
 * `TransformerEncoderLayer`, batch-first, pre-norm, ReLU, no dropout), `norm`,
 * `head` (dModel → classes). Input [B, T, inDim] → per-token logits [B, T, classes].
 * The residual stream is the output of each `blocks.i`; the ReLU's input is
 * `blocks.i.linear1`.
 */
export class TourTransformer extends Module {
  readonly inputProj: Linear;
  readonly blocks: ModuleList<TransformerEncoderLayer>;
  readonly norm: LayerNorm;
  readonly head: Linear;
  readonly config: TourTransformerConfig;

  constructor(config: TourTransformerConfig) {
    super();
    this.config = checkTourConfig(config);
    const c = this.config;
    this.inputProj = this.registerModule("input_proj", new Linear(c.inDim, c.dModel));
    const blocks = Array.from(
      { length: c.layers },
      () => new TransformerEncoderLayer(c.dModel, c.nHead, { dimFeedforward: c.dimFeedforward, dropout: 0, batchFirst: true, normFirst: true }),
    );
    this.blocks = this.registerModule("blocks", new ModuleList(blocks));
    this.norm = this.registerModule("norm", new LayerNorm(c.dModel));
    this.head = this.registerModule("head", new Linear(c.dModel, c.classes));
  }

  /** @param x [B, T, inDim] → logits [B, T, classes] */
  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.config.inDim) throw new ShapeError("TourTransformer input", [null, null, this.config.inDim], x.shape);
    return tf.tidy(() => {
      const h = this.blocks.items.reduce((acc, b) => b.call(acc), this.inputProj.call(x));
      return this.head.call(this.norm.call(h));
    });
  }
}
