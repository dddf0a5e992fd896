import * as tf from "@tensorflow/tfjs";
import { normal } from "../nn/init.js";
import { Linear } from "../nn/linear.js";
import { MoEFeedForward, type MoEOptions } from "./layer.js";
import type { Routing } from "./router.js";

/** Options of `AdaMoEFeedForward`; defaults follow AdaMoE-VLA. */
export interface AdaMoEOptions extends Omit<MoEOptions, "renormalize" | "routedScale" | "sharedScale" | "sharedHidden" | "expertMap"> {
  /** Number of experts. Default 4. */
  experts: number;
  /** Hidden width of the always-on general expert. Default `hidden`. */
  generalHidden?: number;
  /** Std of the scale-adapter init N(0, σ²). Default 0.006 (as the router in AdaMoE). */
  scaleInitStd?: number;
}

/**
 * AdaMoE ("Expertise need not monopolize"): the router decides *which*
 * experts run (top-k of softmax P), and the router plus a learned scale
 * adapter decides *how much*: the weight of a selected expert e is
 * `P[e] + (x·W_scale)[e]`, unnormalised and possibly negative. A general
 * expert runs on every token; output = ½·general + ½·routed.
 *
 * Defaults: 4 GeGLU experts (`glu`, `gelu`), top-1. Extra parameter:
 * `scale_adapter.weight` [E, d]; the general expert is the `shared` child.
 */
export class AdaMoEFeedForward extends MoEFeedForward {
  readonly scaleAdapter: Linear;

  constructor(dModel: number, opts: AdaMoEOptions, path = "ffn") {
    const { generalHidden, scaleInitStd, ...rest } = opts;
    super(
      dModel,
      {
        topK: 1,
        glu: true,
        activation: "gelu",
        ...rest,
        renormalize: false,
        sharedHidden: generalHidden ?? opts.hidden,
        routedScale: 0.5,
        sharedScale: 0.5,
      },
      path,
    );
    this.scaleAdapter = this.registerModule("scale_adapter", new Linear(dModel, opts.experts, { bias: false }));
    this.scaleAdapter.weight.assign(tf.tidy(() => normal([opts.experts, dModel], scaleInitStd ?? 0.006)));
  }

  protected override expertWeights(x: tf.Tensor2D, routing: Routing): tf.Tensor2D {
    return tf.tidy(() => {
      const scale = this.scaleAdapter.call(x);
      const picked = tf.sum(tf.mul(tf.expandDims(scale, 1), tf.oneHot(routing.indices, this.router.numExperts)), -1);
      return tf.add(routing.gates, picked) as tf.Tensor2D;
    });
  }
}
