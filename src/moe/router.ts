import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError, ValueError } from "../errors.js";
import { rng } from "../engine/random.js";
import { Linear } from "../nn/linear.js";
import { Module } from "../nn/module.js";
import { constantTopK } from "./autodiff.js";
import { pickColumns } from "./heap-kernels.js";

/** How router logits become expert scores. */
export type RouterScore = "softmax" | "sigmoid";

/** Options of `Router`. */
export interface RouterOptions {
  /** Number of experts E. */
  numExperts: number;
  /** Experts chosen per token k (1 ≤ k ≤ E). */
  topK: number;
  /** `softmax` over experts (Switch, Mixtral, JetMoE) or independent `sigmoid` per expert (DeepSeek-V3). Default `softmax`. */
  score?: RouterScore;
  /**
   * Divide the k selected scores by their sum (Mixtral/JetMoE; equals softmax over the
   * top-k logits). Off: the gate is the raw score (Switch top-1, gradient reaches the router
   * through the gate value). Default true.
   */
  renormalize?: boolean;
  /** Noisy top-k (Shazeer et al. 2017): in training, logits += N(0,1)·softplus(x·W_noise). Default false. */
  noisy?: boolean;
  /** Switch input jitter ε: in training, x is multiplied by U(1−ε, 1+ε) before routing. Default 0. */
  jitter?: number;
}

/** Output of a router: everything a dispatcher and the balancing losses need. */
export interface Routing {
  /** [T, E] router logits (float32, noise included in training). */
  logits: tf.Tensor2D;
  /** [T, E] expert scores: softmax or sigmoid of the logits. */
  probs: tf.Tensor2D;
  /** [T, k] int32 selected experts, best first (a constant: no gradient). */
  indices: tf.Tensor2D;
  /** [T, k] gate of each selected expert (differentiable w.r.t. the router). */
  gates: tf.Tensor2D;
}

/** Expert masks applied at inference (MoTE): experts that are never chosen / always chosen. */
export interface ExpertMask {
  off?: readonly number[];
  force?: readonly number[];
}

/**
 * Token-choice router `logits = x·W_rᵀ` (parameter `layer.weight` [E, d], no
 * bias, as JetMoE's `router.layer`), then top-k selection and gate values.
 *
 * Selection and weighting are separated so that expert masks (`setMask`)
 * change only *which* experts are chosen: a switched-off expert is replaced by
 * the next best, and with `renormalize` the gates are those of a router that
 * never had it. The top-k itself is a constant for autodiff (tfjs has no
 * gradient for `TopK`); gradients reach the router through the gate values.
 */
export class Router extends Module<[tf.Tensor], Routing> {
  readonly numExperts: number;
  readonly topK: number;
  readonly score: RouterScore;
  readonly renormalize: boolean;
  readonly jitter: number;
  readonly layer: Linear;
  readonly noise: Linear | null;
  private selectionBias: Float32Array;

  constructor(readonly dModel: number, opts: RouterOptions) {
    super();
    validateRouterOptions(opts, "router");
    this.numExperts = opts.numExperts;
    this.topK = opts.topK;
    this.score = opts.score ?? "softmax";
    this.renormalize = opts.renormalize ?? true;
    this.jitter = opts.jitter ?? 0;
    this.layer = this.registerModule("layer", new Linear(dModel, opts.numExperts, { bias: false }));
    this.noise = opts.noisy ? this.registerModule("noise", new Linear(dModel, opts.numExperts, { bias: false })) : null;
    this.selectionBias = new Float32Array(opts.numExperts);
  }

  /**
   * Switches experts off (never selected) or forces them on (always selected) for
   * every later forward; `setMask({})` clears it. Forcing more than k experts, or
   * both forcing and disabling one expert, is a `ConfigError`.
   */
  setMask(mask: ExpertMask): void {
    const off = mask.off ?? [];
    const force = mask.force ?? [];
    for (const [name, list] of [["off", off], ["force", force]] as const) {
      for (const e of list) {
        if (!Number.isInteger(e) || e < 0 || e >= this.numExperts) throw new ConfigError(`mask.${name}`, `expert ${e} not in [0, ${this.numExperts})`);
      }
    }
    if (force.length > this.topK) throw new ConfigError("mask.force", `${force.length} forced experts exceed topK ${this.topK}`);
    if (force.some((e) => off.includes(e))) throw new ConfigError("mask", "an expert is both forced on and switched off");
    if (this.numExperts - off.length < this.topK) throw new ConfigError("mask.off", `fewer than topK ${this.topK} experts left`);
    const bias = new Float32Array(this.numExperts);
    // Scores lie in [0, 1], so ±2 moves an expert below/above every other one without infinities.
    for (const e of off) bias[e] = -2;
    for (const e of force) bias[e] = 2;
    this.selectionBias = bias;
  }

  /** The current mask as a selection bias per expert (0 = untouched). */
  get mask(): Float32Array {
    return this.selectionBias.slice();
  }

  /** @param x [T, d] tokens → routing for every token. */
  forward(x: tf.Tensor): Routing {
    if (x.rank !== 2 || x.shape[1] !== this.dModel) throw new ShapeError("Router input", [null, this.dModel], x.shape);
    return tf.tidy(() => {
      const [t] = x.shape as [number, number];
      const xin = this.training && this.jitter > 0 ? tf.mul(x, noiseTensor([t, this.dModel], "uniform", this.jitter)) : x;
      let logits = this.layer.call(xin) as tf.Tensor2D;
      if (this.noise && this.training) {
        const std = tf.softplus(this.noise.call(xin));
        logits = tf.add(logits, tf.mul(std, noiseTensor([t, this.numExperts], "normal", 1)));
      }
      // NaN logits would otherwise route silently to expert 0.
      if (!allFinite(logits)) throw new ValueError("router logits are not finite (NaN or ±Inf in the input or the router weights)");
      const probs = (this.score === "softmax" ? tf.softmax(logits) : tf.sigmoid(logits)) as tf.Tensor2D;
      const hasMask = this.selectionBias.some((b) => b !== 0);
      const indices = constantTopK(hasMask ? tf.add(probs, tf.tensor1d(this.selectionBias)) : probs, this.topK);
      const picked = pickColumns(probs, indices);
      const gates = this.renormalize ? (tf.div(picked, tf.sum(picked, -1, true)) as tf.Tensor2D) : picked;
      return { logits, probs, indices, gates };
    });
  }
}

/** Whether every value is finite: a pass over the host copy on wasm/cpu, one [T, E] reduction read back elsewhere. */
function allFinite(t: tf.Tensor): boolean {
  if (tf.getBackend() !== "wasm" && tf.getBackend() !== "cpu") return tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0] === 1);
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

/** Checks router options, reporting the first bad key under `path`. */
export function validateRouterOptions(opts: RouterOptions, path: string): void {
  const e = opts.numExperts;
  if (!Number.isInteger(e) || e < 1) throw new ConfigError(`${path}.experts`, `must be a positive integer, got ${e}`);
  if (!Number.isInteger(opts.topK) || opts.topK < 1 || opts.topK > e) throw new ConfigError(`${path}.topK`, `must be an integer in [1, ${e}], got ${opts.topK}`);
  if (opts.score !== undefined && opts.score !== "softmax" && opts.score !== "sigmoid") throw new ConfigError(`${path}.score`, `unknown score "${String(opts.score)}" (softmax, sigmoid)`);
  if (opts.jitter !== undefined && !(opts.jitter >= 0 && opts.jitter < 1)) throw new ConfigError(`${path}.jitter`, `must be in [0, 1), got ${opts.jitter}`);
}

/** Multiplicative U(1−ε, 1+ε) or additive N(0, 1)·scale noise from the seeded source. */
function noiseTensor(shape: [number, number], kind: "uniform" | "normal", scale: number): tf.Tensor {
  const n = shape[0] * shape[1];
  const values = kind === "uniform" ? rng().uniformArray(n, 1 - scale, 1 + scale) : rng().normalArray(n, 0, scale);
  return tf.tensor(values, shape);
}
