import * as tf from "@tensorflow/tfjs";
import { splitHeads } from "../engine/heads.js";
import { ConfigError, ShapeError } from "../errors.js";
import { dropout } from "./dropout.js";
import { xavierUniform } from "./init.js";
import { Linear } from "./linear.js";
import { Module } from "./module.js";
import type { RotaryEmbedding } from "./positions.js";

/** Large negative logit used for masked positions (exp underflows to exactly 0). */
const MASKED = -1e9;

/** Options of `scaledDotProductAttention`. */
export interface SdpaOptions {
  /**
   * Additive mask broadcastable to [B, H, L, S] (0 keeps, large negative drops),
   * e.g. from `booleanMaskToAdditive`.
   */
  additiveMask?: tf.Tensor;
  /** Forbid attending to later positions (query i sees keys ≤ i + S − L). */
  causal?: boolean;
  /** Logit scale (default 1/√d). */
  scale?: number;
  /** Dropout probability on the attention weights (applied only when `training`). */
  dropoutP?: number;
  training?: boolean;
}

/**
 * softmax(q·kᵀ·scale + mask)·v over the last two axes.
 * @param q [..., L, d] @param k [..., S, d] @param v [..., S, dv] → [..., L, dv]
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: SdpaOptions = {}): tf.Tensor {
  const d = q.shape[q.rank - 1]!;
  return tf.tidy(() => attend(tf.mul(tf.matMul(q, k, false, true), opts.scale ?? 1 / Math.sqrt(d)), v, opts));
}

/** softmax(logits + masks)·v for scaled logits [..., L, S] and v [..., S, dv] (inside a tidy). */
function attend(logits: tf.Tensor, v: tf.Tensor, opts: SdpaOptions): tf.Tensor {
  const [L, S] = logits.shape.slice(-2) as [number, number];
  let x = logits;
  if (opts.additiveMask) x = tf.add(x, opts.additiveMask);
  if (opts.causal) x = tf.add(x, causalMask(L, S));
  let w = tf.softmax(x);
  if (opts.dropoutP) w = dropout(w, opts.dropoutP, opts.training ?? false);
  return tf.matMul(w, v);
}

/** Additive causal mask [L, S]: 0 where key j ≤ i + (S − L), MASKED above. */
export function causalMask(L: number, S: number): tf.Tensor {
  const m = new Float32Array(L * S);
  for (let i = 0; i < L; i++) for (let j = i + S - L + 1; j < S; j++) m[i * S + j] = MASKED;
  return tf.tensor(m, [L, S]);
}

/** Boolean mask (true = masked out, PyTorch `nn.MultiheadAttention` convention) → additive float mask. */
export function booleanMaskToAdditive(mask: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.cast(mask, "float32"), MASKED));
}

/** Options of `MultiheadAttention.forward`. */
export interface AttentionCallOptions {
  /**
   * [L, S] or [N·numHeads, L, S]: boolean (true = may NOT attend, PyTorch
   * convention) or float (added to the logits).
   */
  attnMask?: tf.Tensor;
  /** [N, S] boolean, true = padding key to ignore. */
  keyPaddingMask?: tf.Tensor;
  /** Causal self-attention (query i sees keys ≤ i). */
  isCausal?: boolean;
}

/** Options of `MultiheadAttention`. */
export interface MultiheadAttentionOptions {
  /** Dropout on attention weights in training (default 0). */
  dropout?: number;
  /** `in_proj_bias` and `out_proj.bias` (default true). */
  bias?: boolean;
  /** Inputs [N, L, E] instead of PyTorch's default [L, N, E] (default false). */
  batchFirst?: boolean;
}

/**
 * `torch.nn.MultiheadAttention` (same embedding size for query, key and value):
 * parameters `in_proj_weight` [3E, E] (xavier_uniform), `in_proj_bias` [3E]
 * (zeros), `out_proj.weight` [E, E], `out_proj.bias` (zeros). Self-attention
 * when query, key and value are the same tensor; cross-attention otherwise.
 */
export class MultiheadAttention extends Module<[tf.Tensor, tf.Tensor, tf.Tensor, AttentionCallOptions?], tf.Tensor> {
  readonly headDim: number;
  readonly dropoutP: number;
  readonly batchFirst: boolean;
  readonly inProjWeight: tf.Variable;
  readonly inProjBias: tf.Variable | null;
  readonly outProj: Linear;

  constructor(readonly embedDim: number, readonly numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    if (embedDim % numHeads) throw new ConfigError("numHeads", `embedDim ${embedDim} not divisible by numHeads ${numHeads}`);
    this.headDim = embedDim / numHeads;
    this.dropoutP = opts.dropout ?? 0;
    this.batchFirst = opts.batchFirst ?? false;
    const bias = opts.bias ?? true;
    this.inProjWeight = this.registerParameter("in_proj_weight", xavierUniform([3 * embedDim, embedDim]))!;
    this.inProjBias = this.registerParameter("in_proj_bias", bias ? tf.zeros([3 * embedDim]) : null);
    this.outProj = this.registerModule("out_proj", new Linear(embedDim, embedDim, { bias }));
    if (this.outProj.bias) tf.tidy(() => this.outProj.bias!.assign(tf.zeros([embedDim])));
  }

  /**
   * @param query [L, N, E] ([N, L, E] with batchFirst) @param key, value [S, N, E]
   * @returns [L, N, E] ([N, L, E] with batchFirst)
   */
  forward(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, opts: AttentionCallOptions = {}): tf.Tensor {
    const E = this.embedDim;
    for (const [n, t] of [["query", query], ["key", key], ["value", value]] as const) {
      if (t.rank !== 3 || t.shape[2] !== E) throw new ShapeError(`MultiheadAttention ${n}`, ["*", "*", E], t.shape);
    }
    return tf.tidy(() => {
      const toBatch = (t: tf.Tensor): tf.Tensor => (this.batchFirst ? t : t.transpose([1, 0, 2]));
      const q0 = toBatch(query);
      const [N, L] = q0.shape as [number, number];
      const H = this.numHeads;
      const hd = this.headDim;
      const project = (x: tf.Tensor, rows: number, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor => {
        const y = tf.matMul(x.reshape([-1, E]), w, false, true);
        return (b ? tf.add(y, b) : y).reshape([N, rows, -1]);
      };
      const k0 = key === query ? q0 : toBatch(key);
      const v0 = value === key ? k0 : toBatch(value);
      const S = k0.shape[1]!;
      let mask: tf.Tensor | undefined;
      if (opts.attnMask) {
        const m = opts.attnMask.dtype === "bool" ? booleanMaskToAdditive(opts.attnMask) : opts.attnMask;
        mask = m.rank === 3 ? m.reshape([N, H, L, S]) : m;
      }
      if (opts.keyPaddingMask) {
        if (!sameShape(opts.keyPaddingMask.shape, [N, S])) throw new ShapeError("keyPaddingMask", [N, S], opts.keyPaddingMask.shape);
        const kp = booleanMaskToAdditive(opts.keyPaddingMask).reshape([N, 1, 1, S]);
        mask = mask ? tf.add(mask, kp) : kp;
      }
      const sdpa: SdpaOptions = { additiveMask: mask, causal: opts.isCausal, dropoutP: this.dropoutP, training: this.training };
      let o: tf.Tensor;
      if (value === query && key === query) {
        // Self-attention: one product with the whole in_proj_weight, then one pass
        // to per-head q (scaled), kᵀ and v, so the products need no transposes.
        const [q, kT, v] = splitHeads(project(q0, L, this.inProjWeight, this.inProjBias), H, 1 / Math.sqrt(hd));
        o = attend(tf.matMul(q, kT), v, sdpa);
      } else {
        const part = (x: tf.Tensor, rows: number, i: number): tf.Tensor => {
          const b = this.inProjBias && tf.slice(this.inProjBias, [i * E], [E]);
          return project(x, rows, tf.slice(this.inProjWeight, [i * E, 0], [E, E]), b).reshape([N, rows, H, hd]).transpose([0, 2, 1, 3]);
        };
        o = scaledDotProductAttention(part(q0, L, 0), part(k0, S, 1), part(v0, S, 2), sdpa);
      }
      const merged = o.transpose([0, 2, 1, 3]).reshape([N, L, E]);
      const out = this.outProj.call(merged);
      return this.batchFirst ? out : out.transpose([1, 0, 2]);
    });
  }
}

/** Options of `SelfAttention`. */
export interface SelfAttentionOptions {
  /** Biases of `qkv` and `proj` (default true). */
  bias?: boolean;
  /** Dropout on attention weights in training (default 0). */
  dropout?: number;
  /** Causal masking (default false). */
  causal?: boolean;
  /** Rotary position embedding applied to queries and keys per head. */
  rotary?: RotaryEmbedding;
}

/**
 * Batch-first self-attention with timm/ViT parameter names: `qkv` (Linear E→3E)
 * and `proj` (Linear E→E), optional rotary positions and causal mask.
 */
export class SelfAttention extends Module<[tf.Tensor, tf.Tensor?], tf.Tensor> {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;
  private readonly opts: SelfAttentionOptions;

  constructor(readonly dim: number, readonly numHeads: number, opts: SelfAttentionOptions = {}) {
    super();
    if (dim % numHeads) throw new ConfigError("numHeads", `dim ${dim} not divisible by numHeads ${numHeads}`);
    this.headDim = dim / numHeads;
    this.opts = opts;
    this.qkv = this.registerModule("qkv", new Linear(dim, 3 * dim, { bias: opts.bias ?? true }));
    this.proj = this.registerModule("proj", new Linear(dim, dim, { bias: opts.bias ?? true }));
    if (opts.rotary) this.registerModule("rotary", opts.rotary);
  }

  /**
   * @param x [N, T, dim]
   * @param additiveMask optional, broadcastable to [N, heads, T, T]
   */
  forward(x: tf.Tensor, additiveMask?: tf.Tensor): tf.Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.dim) throw new ShapeError("SelfAttention input", ["N", "T", this.dim], x.shape);
    const [N, T] = x.shape as [number, number];
    return tf.tidy(() => {
      const qkv = this.qkv.call(x).reshape([N, T, 3, this.numHeads, this.headDim]).transpose([2, 0, 3, 1, 4]);
      let [q, k, v] = tf.unstack(qkv) as [tf.Tensor, tf.Tensor, tf.Tensor];
      if (this.opts.rotary) {
        q = this.opts.rotary.call(q);
        k = this.opts.rotary.call(k);
      }
      const o = scaledDotProductAttention(q, k, v, {
        additiveMask,
        causal: this.opts.causal,
        dropoutP: this.opts.dropout,
        training: this.training,
      });
      return this.proj.call(o.transpose([0, 2, 1, 3]).reshape([N, T, this.dim]));
    });
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

