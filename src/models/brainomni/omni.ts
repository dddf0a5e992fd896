import * as tf from "@tensorflow/tfjs";
import { ShapeError, ValueError } from "../../errors.js";
import { rng } from "../../engine/random.js";
import { dropout } from "../../nn/dropout.js";
import { normal } from "../../nn/init.js";
import { Linear } from "../../nn/linear.js";
import { Module, ModuleList } from "../../nn/module.js";
import { RMSNorm } from "../../nn/norms.js";
import { validateOmniConfig, type BrainOmniConfig } from "./config.js";
import { prepareDerived, releaseDerived } from "./derived.js";
import { l2normalize } from "./quantizer.js";
import { FeedForward } from "./sensor-encoder.js";
import { BrainTokenizer, type TokenizerBatch } from "./tokenizer.js";

/**
 * Choices where the official code does something a clean model would not,
 * and the released weights were trained (or exported) with it. See README.md.
 */
export interface OmniQuirks {
  /**
   * `checkpoint` (faithful): rotate q/k with the `rotate` buffer as loaded.
   * The released checkpoints hold cosines only (their imaginary part was lost
   * in export), so q/k pairs are scaled by cos(t·f) instead of rotated; above
   * 240 tokens upstream rebuilds a true cache, and so does this mode.
   * `true` (corrected): always a genuine rotation computed from `freqs`.
   */
  rope: "checkpoint" | "true";
  /** Faithful: the spatial output fills the first half and the time output the second (the halves swap each block). */
  swapHalves: boolean;
  /**
   * Faithful upstream applies attention dropout (p = lmDropout) even in eval
   * mode, so its `encode` is random. Off by default: neurocode's inference is
   * deterministic unless this is set.
   */
  evalAttentionDropout: boolean;
}

/** Faithful to the released checkpoints (except deterministic inference). */
export const FAITHFUL_QUIRKS: Readonly<OmniQuirks> = Object.freeze({ rope: "checkpoint", swapHalves: true, evalAttentionDropout: false });
/** Corrected: true rotary embedding; halves still swap (the weights depend on it) and no eval dropout. */
export const CORRECTED_QUIRKS: Readonly<OmniQuirks> = Object.freeze({ rope: "true", swapHalves: true, evalAttentionDropout: false });

/** Tokens the official rotary cache covers before it is rebuilt. */
export const ROPE_CACHE_LENGTH = 240;

/**
 * BrainOmni's rotary embedding (`rope_embedding_layer`), built over the whole
 * half-width d (= lmDim/2), not per head: head h of width w uses frequencies
 * f_{h·w/2 … h·w/2 + w/2 − 1}, f_j = 10000^(−2j/d). Buffers `freqs` [d/2] and
 * `rotate` [240, d/2, 2] (cos, sin; complex64 upstream).
 */
export class BrainRotary extends Module<[tf.Tensor], tf.Tensor> {
  readonly freqs: tf.Variable;
  readonly rotate: tf.Variable;
  constructor(readonly dim: number, readonly quirks: OmniQuirks) {
    super();
    const half = dim / 2;
    const f = new Float32Array(half);
    for (let j = 0; j < half; j++) f[j] = Math.pow(10000, -(2 * j) / dim);
    this.freqs = this.registerBuffer("freqs", tf.tensor1d(f));
    this.rotate = this.registerBuffer("rotate", tf.tensor(trueCache(f, ROPE_CACHE_LENGTH), [ROPE_CACHE_LENGTH, half, 2]));
  }

  /** cos/sin tables [W, d/2] for W tokens under the configured mode. */
  private tables(W: number): { cos: tf.Tensor; sin: tf.Tensor } {
    return tf.tidy(() => {
      let cache: tf.Tensor;
      if (this.quirks.rope === "checkpoint" && W <= ROPE_CACHE_LENGTH) cache = tf.slice(this.rotate, [0, 0, 0], [W, -1, -1]);
      else cache = tf.tensor(trueCache(this.freqs.dataSync() as Float32Array, W), [W, this.dim / 2, 2]);
      const [c, s] = tf.unstack(cache, 2) as [tf.Tensor, tf.Tensor];
      return { cos: c, sin: s };
    });
  }

  /** @param x [G, W, H, w] (q or k) → same shape, adjacent pairs rotated. */
  forward(x: tf.Tensor): tf.Tensor {
    const [G, W, H, w] = x.shape as [number, number, number, number];
    if (H * w !== this.dim) throw new ShapeError("rotary input", ["G", "W", "H", this.dim / H], x.shape);
    return tf.tidy(() => {
      const { cos, sin } = this.tables(W);
      const c = cos.reshape([1, W, H, w / 2]);
      const s = sin.reshape([1, W, H, w / 2]);
      const pairs = x.reshape([G, W, H, w / 2, 2]);
      const [re, im] = tf.unstack(pairs, 4) as [tf.Tensor, tf.Tensor];
      const outRe = tf.sub(tf.mul(re, c), tf.mul(im, s));
      const outIm = tf.add(tf.mul(re, s), tf.mul(im, c));
      return tf.stack([outRe, outIm], 4).reshape([G, W, H, w]);
    });
  }
}

/** e^{i·t·f} for t < W as interleaved (cos, sin), computed in float64. */
function trueCache(f: ArrayLike<number>, W: number): Float32Array {
  const half = f.length;
  const out = new Float32Array(W * half * 2);
  for (let t = 0; t < W; t++) {
    for (let j = 0; j < half; j++) {
      // torch computes the angle in float32 (outer product of float32 t and freqs).
      const a = Math.fround(t * f[j]!);
      out[(t * half + j) * 2] = Math.cos(a);
      out[(t * half + j) * 2 + 1] = Math.sin(a);
    }
  }
  return out;
}

/** `SelfAttention` of one half: qkv Linear(d → 3d), heads of width d/H, optional rotary on q/k, proj Linear(d → d). */
export class HalfSelfAttention extends Module<[tf.Tensor], tf.Tensor> {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly rope: BrainRotary | null;
  constructor(readonly dim: number, readonly nHead: number, useRope: boolean, readonly dropoutP: number, readonly quirks: OmniQuirks) {
    super();
    this.qkv = this.registerModule("qkv", new Linear(dim, 3 * dim));
    this.proj = this.registerModule("proj", new Linear(dim, dim));
    this.rope = useRope ? this.registerModule("rope_embedding_layer", new BrainRotary(dim, quirks)) : null;
  }

  /** @param x [G, L, d] → [G, L, d] */
  forward(x: tf.Tensor): tf.Tensor {
    const [G, L, d] = x.shape as [number, number, number];
    const H = this.nHead;
    const w = d / H;
    return tf.tidy(() => {
      const [q0, k0, v0] = tf.split(this.qkv.call(x), 3, 2) as [tf.Tensor, tf.Tensor, tf.Tensor];
      let q = q0.reshape([G, L, H, w]);
      let k = k0.reshape([G, L, H, w]);
      if (this.rope) {
        q = this.rope.call(q);
        k = this.rope.call(k);
      }
      const heads = (t: tf.Tensor): tf.Tensor => t.transpose([0, 2, 1, 3]);
      let att = tf.softmax(tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(w)));
      if (this.dropoutP > 0 && (this.training || this.quirks.evalAttentionDropout)) att = dropout(att, this.dropoutP, true);
      const o = tf.matMul(att, heads(v0.reshape([G, L, H, w]))).transpose([0, 2, 1, 3]).reshape([G, L, d]);
      return this.proj.call(o);
    });
  }
}

/**
 * `SpatialTemporalAttentionBlock` ("criss-cross"), pre-norm: the first half of
 * RMSNorm(x) attends over time per source (rotary), the second half over
 * sources per time step; outputs concatenated (spatial first when the halves
 * swap, as upstream), then a SELU feed-forward.
 */
export class CrissCrossBlock extends Module<[tf.Tensor], tf.Tensor> {
  readonly preAttnNorm: RMSNorm;
  readonly timeAttn: HalfSelfAttention;
  readonly spatialAttn: HalfSelfAttention;
  readonly preFfNorm: RMSNorm;
  readonly ff: FeedForward;
  constructor(readonly dim: number, nHead: number, dropoutP: number, readonly quirks: OmniQuirks) {
    super();
    this.preAttnNorm = this.registerModule("pre_attn_norm", new RMSNorm(dim, { eps: 1e-6 }));
    this.timeAttn = this.registerModule("time_attn", new HalfSelfAttention(dim / 2, nHead / 2, true, dropoutP, quirks));
    this.spatialAttn = this.registerModule("spatial_attn", new HalfSelfAttention(dim / 2, nHead / 2, false, dropoutP, quirks));
    this.preFfNorm = this.registerModule("pre_ff_norm", new RMSNorm(dim, { eps: 1e-6 }));
    this.ff = this.registerModule("ff", new FeedForward(dim, 4 * dim, dropoutP));
  }

  /** @param x [B, P, W, D] → same shape */
  forward(x: tf.Tensor): tf.Tensor {
    const [B, P, W, D] = x.shape as [number, number, number, number];
    const h2 = D / 2;
    return tf.tidy(() => {
      const h = this.preAttnNorm.call(x);
      const xt = tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, h2]).reshape([B * P, W, h2]);
      const xs = tf.slice(h, [0, 0, 0, h2], [-1, -1, -1, h2]).transpose([0, 2, 1, 3]).reshape([B * W, P, h2]);
      const t = this.timeAttn.call(xt).reshape([B, P, W, h2]);
      const s = this.spatialAttn.call(xs).reshape([B, W, P, h2]).transpose([0, 2, 1, 3]);
      const y = tf.add(x, tf.concat(this.quirks.swapHalves ? [s, t] : [t, s], 3));
      return tf.add(y, this.ff.call(this.preFfNorm.call(y)));
    });
  }
}

/** Randomness of one masked-prediction forward (drawn by `drawMask`, or replayed from a fixture). */
export interface MaskDraw {
  /** [B, P, W] 1 = token kept, 0 = masked. */
  keep: Uint8Array;
  /** [B, P, W] uniform draws: a masked token keeps its random replacement when > 0.8, else becomes mask_token. */
  randToken: Float32Array;
  /** Permutation of the B·P·W tokens: masked token i is first replaced by token perm[i]. */
  perm: Int32Array;
}

/** Output of the masked-token objective. */
export interface MaskedOutput {
  /** [B, P, W, Q, M] */
  logits: tf.Tensor;
  /** Token codes (labels) [B, P, W, Q] int32. */
  labels: tf.Tensor;
  /** Mean cross-entropy over masked positions × Q levels (scalar). */
  loss: tf.Tensor;
  /** Argmax accuracy at masked positions, per level. */
  accuracy: number[];
}

/**
 * BrainOmni (stage 2): a frozen BrainTokenizer turns signals into 16 sources ×
 * W continuous tokens (sum of the 4 codewords); a criss-cross transformer
 * over sources × time is trained to predict the 4 codes of masked tokens.
 * Parameter names equal the official state dict (`tokenizer.*`, `mask_token`,
 * `projection.*` when lmDim ≠ nDim, `blocks.i.*`, `predict_head.*`).
 */
export class BrainOmni extends Module<[TokenizerBatch], tf.Tensor> {
  readonly cfg: BrainOmniConfig;
  readonly tokenizer: BrainTokenizer;
  readonly maskToken: tf.Variable;
  readonly projection: Linear | null;
  readonly blocks: ModuleList<CrissCrossBlock>;
  readonly predictHead: Linear;

  constructor(cfg: BrainOmniConfig, readonly quirks: OmniQuirks = FAITHFUL_QUIRKS) {
    super();
    this.cfg = validateOmniConfig({ ...cfg, ratios: [...cfg.ratios] });
    this.tokenizer = this.registerModule("tokenizer", new BrainTokenizer(this.cfg));
    this.tokenizer.requiresGrad(false);
    this.maskToken = this.registerParameter("mask_token", normal([cfg.nDim]))!;
    this.projection = cfg.lmDim !== cfg.nDim ? this.registerModule("projection", new Linear(cfg.nDim, cfg.lmDim)) : null;
    this.blocks = this.registerModule("blocks", new ModuleList(Array.from({ length: cfg.lmDepth }, () => new CrissCrossBlock(cfg.lmDim, cfg.lmHead, cfg.lmDropout, quirks))));
    this.predictHead = this.registerModule("predict_head", new Linear(cfg.lmDim, cfg.numQuantizers * cfg.codebookSize));
  }

  /**
   * The frozen tokenizer always runs in eval mode (as upstream calls `tokenize`).
   * The blocks' derived inference weights are built in eval mode, freed in training.
   */
  override train(mode = true): this {
    super.train(mode);
    this.tokenizer.eval();
    if (mode) releaseDerived(this.blocks);
    else prepareDerived(this.blocks);
    return this;
  }

  /** Frees parameters, buffers and the derived inference weights. */
  override dispose(): void {
    releaseDerived(this);
    super.dispose();
  }

  private embedTokens(tokens: tf.Tensor, depth: number): tf.Tensor {
    return tf.tidy(() => {
      let x = tf.add(tokens, this.tokenizer.encoder.neuros.reshape([1, this.cfg.nNeuro, 1, this.cfg.nDim]));
      if (this.projection) x = this.projection.call(x);
      for (let i = 0; i < depth; i++) x = this.blocks.items[i]!.call(x);
      return x;
    });
  }

  /**
   * Features for downstream heads (the official `encode`): tokenize with the
   * configured overlap, add the source embeddings, run all blocks but the
   * last, L2-normalise. @returns [B, P, W, lmDim]
   */
  encode(batch: TokenizerBatch): tf.Tensor {
    return tf.tidy(() => {
      const { features, indices } = this.tokenizer.tokenize(batch, this.cfg.overlapRatio);
      indices.dispose();
      return l2normalize(this.embedTokens(features, this.cfg.lmDepth - 1), 1e-6);
    });
  }

  /** `call(batch)` = `encode(batch)`. */
  forward(batch: TokenizerBatch): tf.Tensor {
    return this.encode(batch);
  }

  /** Draws a mask with the seeded source: keep = U > maskRatio per token (Bernoulli, not an exact count). */
  drawMask(B: number, P: number, W: number): MaskDraw {
    const r = rng();
    const n = B * P * W;
    const keep = new Uint8Array(n);
    const randToken = new Float32Array(n);
    for (let i = 0; i < n; i++) keep[i] = r.uniform() > this.cfg.maskRatio ? 1 : 0;
    for (let i = 0; i < n; i++) randToken[i] = r.uniform();
    const perm = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    return { keep, randToken, perm };
  }

  /**
   * The masked-token objective (the official `forward`): masked tokens are
   * replaced by a random token of the batch, and with probability 0.8 then by
   * `mask_token`; all blocks; logits for the Q codes; cross-entropy over masked
   * positions averaged over levels.
   */
  maskedForward(batch: TokenizerBatch, draw?: MaskDraw): MaskedOutput {
    const { features, indices } = this.tokenizer.tokenize(batch, this.cfg.overlapRatio);
    const [B, P, W, D] = features.shape as [number, number, number, number];
    const d = draw ?? this.drawMask(B, P, W);
    const n = B * P * W;
    if (d.keep.length !== n || d.randToken.length !== n || d.perm.length !== n) {
      tf.dispose([features, indices]);
      throw new ShapeError("mask draw", [n], [d.keep.length]);
    }
    let nMasked = 0;
    for (const k of d.keep) if (!k) nMasked++;
    const Q = this.cfg.numQuantizers;
    const M = this.cfg.codebookSize;
    const out = tf.tidy(() => {
      const flat = features.reshape([n, D]);
      const replaced = tf.gather(flat, tf.tensor1d(d.perm, "int32"));
      const masked = tf.tensor2d(Uint8Array.from(d.keep, (k) => 1 - k), [n, 1]).toFloat();
      const useMask = tf.tensor2d(Uint8Array.from(d.randToken, (u, i) => (!d.keep[i] && u <= 0.8 ? 1 : 0)), [n, 1]).toFloat();
      let x = tf.add(tf.mul(flat, tf.sub(1, masked)), tf.mul(replaced, masked));
      x = tf.add(tf.mul(x, tf.sub(1, useMask)), tf.mul(this.maskToken.reshape([1, D]), useMask));
      const h = this.embedTokens(x.reshape([B, P, W, D]), this.cfg.lmDepth);
      const logits = this.predictHead.call(h).reshape([B, P, W, Q, M]);
      const logp = tf.logSoftmax(logits, -1);
      const onehot = tf.oneHot(indices.reshape([n * Q]), M).reshape([B, P, W, Q, M]);
      const nll = tf.neg(tf.sum(tf.mul(logp, onehot), -1)); // [B, P, W, Q]
      const m4 = masked.reshape([B, P, W, 1]);
      const loss = nMasked > 0 ? tf.div(tf.sum(tf.mul(nll, m4)), nMasked * Q) : tf.scalar(0);
      const hit = tf.mul(tf.equal(tf.argMax(logits, -1), indices).toFloat(), m4);
      const acc = tf.div(tf.sum(hit, [0, 1, 2]), Math.max(nMasked, 1));
      return { logits, loss, acc };
    });
    const accuracy = Array.from(out.acc.dataSync());
    out.acc.dispose();
    features.dispose();
    return { logits: out.logits, labels: indices, loss: out.loss, accuracy };
  }
}

/** Options of the downstream classification head. */
export interface ClassificationHeadOptions {
  /** Dropout before the first Linear (0.1). */
  dropout?: number;
}

/**
 * The downstream head (`downstream/`): mean over time, flatten sources
 * (16·lmDim), Dropout, Linear(16·lmDim → lmDim), SELU, Linear(lmDim → classes).
 * Parameter names `fc1.*`, `fc2.*` (no fine-tuned checkpoint is published to match).
 */
export class ClassificationHead extends Module<[tf.Tensor], tf.Tensor> {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly p: number;
  constructor(readonly nSources: number, readonly dim: number, readonly nClasses: number, opts: ClassificationHeadOptions = {}) {
    super();
    if (!Number.isInteger(nClasses) || nClasses < 2) throw new ValueError(`nClasses must be an integer ≥ 2, got ${nClasses}`);
    this.p = opts.dropout ?? 0.1;
    this.fc1 = this.registerModule("fc1", new Linear(nSources * dim, dim));
    this.fc2 = this.registerModule("fc2", new Linear(dim, nClasses));
  }
  /** @param features [B, P, W, D] from `BrainOmni.encode` → logits [B, classes] */
  forward(features: tf.Tensor): tf.Tensor {
    const [B, P, , D] = features.shape as [number, number, number, number];
    if (P !== this.nSources || D !== this.dim) throw new ShapeError("head input", ["B", this.nSources, "W", this.dim], features.shape);
    return tf.tidy(() => {
      const pooled = tf.mean(features, 2).reshape([B, P * D]);
      return this.fc2.call(tf.selu(this.fc1.call(dropout(pooled, this.p, this.training))));
    });
  }
}
