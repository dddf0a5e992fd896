import * as tf from "@tensorflow/tfjs";
import { ConfigError, NeurocodeError, ShapeError } from "../errors.js";
import { scaledDotProductAttention } from "../nn/attention.js";
import { uniform } from "../nn/init.js";
import { Linear } from "../nn/linear.js";
import { Module } from "../nn/module.js";
import { emitAux, type AuxSink, type MoEAuxSource } from "./aux.js";
import { collectOutputs, dispatchAssignments, dispatchTokens, expertCapacity, planDispatch } from "./dispatch.js";
import { routingAux, type MoEOutput } from "./layer.js";
import { Router, validateRouterOptions, type RouterScore } from "./router.js";

/** Options of `MixtureOfAttentionHeads` (JetMoE's MoA). */
export interface MoAOptions {
  /** Number of attention experts E. */
  experts: number;
  /** Experts per token k. Default 2. */
  topK?: number;
  /** Key/value heads shared by all experts; each expert has this many query heads. */
  numKvHeads: number;
  /** Size of each head. */
  headDim: number;
  /** Causal attention. Default true. */
  causal?: boolean;
  /** Learned output bias [d] (JetMoE `bias=True`). Default true. */
  bias?: boolean;
  score?: RouterScore;
  /** Renormalise the top-k gates (JetMoE: softmax over the top-k logits). Default true. */
  renormalize?: boolean;
  /** α of the switch loss. Default 0.01. */
  auxLossCoef?: number;
  /** β of the z-loss. Default 0.001. */
  zLossCoef?: number;
}

/**
 * Mixture of attention heads (JetMoE): keys and values come from one shared
 * projection (`kv_proj`, d → 2·H_kv·d_h); each token's k selected experts each
 * project it to H_kv query heads (`experts.w_q` [E, d, H_kv·d_h]), so a token
 * attends with k·H_kv heads; head j·H_kv + h uses key/value head h. Each
 * expert's head outputs go through that expert's output projection
 * (`experts.w_o` [E, H_kv·d_h, d]) and are summed with the gates. Routing is
 * dropless (every token needs its queries), with the same router and losses
 * as `MoEFeedForward`.
 */
export class MixtureOfAttentionHeads extends Module<[tf.Tensor, tf.Tensor?], tf.Tensor> implements MoEAuxSource {
  readonly router: Router;
  readonly experts: AttentionExperts;
  readonly kvProj: Linear;
  readonly bias: tf.Variable | null;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly auxLossCoef: number;
  readonly zLossCoef: number;
  auxSink: AuxSink | null = null;

  constructor(readonly dModel: number, opts: MoAOptions, path = "attention") {
    super();
    const topK = opts.topK ?? 2;
    validateRouterOptions({ numExperts: opts.experts, topK, score: opts.score }, path);
    for (const key of ["numKvHeads", "headDim"] as const) {
      if (!Number.isInteger(opts[key]) || opts[key] < 1) throw new ConfigError(`${path}.${key}`, `must be a positive integer, got ${opts[key]}`);
    }
    this.numKvHeads = opts.numKvHeads;
    this.headDim = opts.headDim;
    this.causal = opts.causal ?? true;
    this.auxLossCoef = opts.auxLossCoef ?? 0.01;
    this.zLossCoef = opts.zLossCoef ?? 0.001;
    const p = opts.numKvHeads * opts.headDim;
    this.router = this.registerModule("router", new Router(dModel, { numExperts: opts.experts, topK, score: opts.score, renormalize: opts.renormalize }));
    this.experts = this.registerModule("experts", new AttentionExperts(opts.experts, dModel, p));
    this.kvProj = this.registerModule("kv_proj", new Linear(dModel, 2 * p, { bias: false }));
    this.bias = this.registerParameter("bias", opts.bias ?? true ? tf.zeros([dModel]) : null);
  }

  /**
   * @param x [B, L, d]
   * @param additiveMask optional, broadcastable to [B, k·H_kv, L, L]
   * @returns [B, L, d]; losses and load go to the active `collectMoEAux` scope.
   */
  forward(x: tf.Tensor, additiveMask?: tf.Tensor): tf.Tensor {
    const out = this.forwardWithAux(x, additiveMask);
    emitAux(this, out);
    return out.output;
  }

  /** As `forward`, returning the losses and load instead of emitting them. */
  forwardWithAux(x: tf.Tensor, additiveMask?: tf.Tensor): MoEOutput {
    if (x.rank !== 3 || x.shape[2] !== this.dModel) throw new ShapeError("MixtureOfAttentionHeads input", ["B", "L", this.dModel], x.shape);
    const [b, l] = x.shape as [number, number, number];
    const t = b * l;
    const k = this.router.topK;
    const e = this.router.numExperts;
    const hk = this.numKvHeads;
    const hd = this.headDim;
    const p = hk * hd;
    const out = tf.tidy(() => {
      const xs = tf.reshape(x, [t, this.dModel]) as tf.Tensor2D;
      const r = this.router.call(xs);
      const plan = planDispatch(r.indices, e, expertCapacity(t, k, e, Infinity));
      // map: k query sets per token, one per selected expert → [B, k·H_kv, L, d_h]
      const q = collectOutputs(tf.matMul(dispatchTokens(xs, plan), this.experts.wQ) as tf.Tensor3D, plan);
      const heads = tf.transpose(tf.reshape(q, [b, l, k * hk, hd]), [0, 2, 1, 3]);
      const kv = tf.reshape(this.kvProj.call(x), [b, l, 2, hk, hd]);
      const [keys, values] = [0, 1].map((i) =>
        tf.tile(tf.transpose(tf.squeeze(tf.slice(kv, [0, 0, i, 0, 0], [b, l, 1, hk, hd]), [2]), [0, 2, 1, 3]), [1, k, 1, 1]),
      ) as [tf.Tensor, tf.Tensor];
      const att = scaledDotProductAttention(heads, keys, values, { causal: this.causal, additiveMask });
      // reduce: each selected expert's output projection on its own heads, then the gated sum
      const perAssign = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [t * k, p]) as tf.Tensor2D;
      const projected = collectOutputs(tf.matMul(dispatchAssignments(perAssign, plan), this.experts.wO) as tf.Tensor3D, plan);
      let y: tf.Tensor = tf.sum(tf.mul(projected, tf.expandDims(r.gates, 2)), 1);
      if (this.bias) y = tf.add(y, this.bias);
      return { output: tf.reshape(y, [b, l, this.dModel]), ...routingAux(r, r.indices, plan, this.auxLossCoef, this.zLossCoef) };
    });
    return { ...out, numTokens: t };
  }
}

/** Per-expert query and output projections of `MixtureOfAttentionHeads`: `w_q` [E, d, P], `w_o` [E, P, d]. */
export class AttentionExperts extends Module<[], never> {
  readonly wQ: tf.Variable;
  readonly wO: tf.Variable;
  constructor(numExperts: number, dModel: number, projection: number) {
    super();
    this.wQ = this.registerParameter("w_q", uniform([numExperts, dModel, projection], 1 / Math.sqrt(dModel)))!;
    this.wO = this.registerParameter("w_o", uniform([numExperts, projection, dModel], 1 / Math.sqrt(projection)))!;
  }
  /** Weights only; `MixtureOfAttentionHeads` applies them. */
  forward(): never {
    throw new NeurocodeError("AttentionExperts has no forward(); MixtureOfAttentionHeads applies its weights");
  }
}
