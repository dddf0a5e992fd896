import * as tf from "@tensorflow/tfjs";
import { gatherRows } from "../../engine/gather.js";
import { ShapeError, ValueError } from "../../errors.js";
import { Conv1d, ConvTranspose1d } from "../../nn/conv.js";
import { Embedding } from "../../nn/embedding.js";
import { normal, truncNormal } from "../../nn/init.js";
import { Linear } from "../../nn/linear.js";
import { Module, type AnyModule } from "../../nn/module.js";
import { framesPerWindow, validateTokenizerConfig, type BrainTokenizerConfig } from "./config.js";
import { BackwardSolution, blockDiagonalQueries, ForwardSolution } from "./cross-attention.js";
import { DerivedWeights, InferenceLinear, prepareDerived, releaseDerived, type DerivedHolder } from "./derived.js";
import { tokenizerLoss, zscoreWindows, type TokenizerLosses } from "./losses.js";
import { BrainQuantizer, type RvqOutput } from "./quantizer.js";
import { SEANetDecoder, SEANetEncoder } from "./seanet.js";
import { SensorEncoder } from "./sensor-encoder.js";

/**
 * Cuts [B, C, T] into windows [B, C, N, L] as the official `unfold`:
 * T < L is zero-padded to L; with overlap 0 the stride is L and a trailing
 * remainder is dropped; with overlap r > 0 the stride is ⌊L(1−r)⌋ and the
 * right side is zero-padded so the windows fit.
 */
export function unfoldWindows(x: tf.Tensor, windowLength: number, overlap = 0): tf.Tensor {
  if (x.rank !== 3) throw new ShapeError("signal", ["B", "C", "T"], x.shape);
  if (!(overlap >= 0 && overlap < 1)) throw new ValueError(`overlap must be in [0, 1), got ${overlap}`);
  const L = windowLength;
  const stride = overlap > 0 ? Math.floor(L * (1 - overlap)) : L;
  return tf.tidy(() => {
    let s = x;
    let T = s.shape[2]!;
    if (T < L) {
      s = tf.pad(s, [[0, 0], [0, 0], [0, L - T]]);
      T = L;
    }
    if (overlap > 0 && (T - L) % stride !== 0) {
      const padded = L + Math.ceil((T - L) / stride) * stride;
      s = tf.pad(s, [[0, 0], [0, 0], [0, padded - T]]);
      T = padded;
    }
    const N = Math.floor((T - L) / stride) + 1;
    const windows: tf.Tensor[] = [];
    for (let n = 0; n < N; n++) windows.push(tf.slice(s, [0, 0, n * stride], [-1, -1, L]));
    return tf.stack(windows, 2);
  });
}

/** Number of windows `unfoldWindows` makes from T samples. */
export function windowCount(T: number, windowLength: number, overlap = 0): number {
  const L = windowLength;
  if (T <= L) return 1;
  if (overlap === 0) return Math.floor(T / L);
  const stride = Math.floor(L * (1 - overlap));
  return Math.ceil((T - L) / stride) + 1;
}

/** `BrainOmniEncoder`: SEANet per (channel, window), then latent-source cross-attention. */
export class TokenizerEncoder extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> implements DerivedHolder {
  readonly neuros: tf.Variable;
  /** Eval: `neuros` as the block-diagonal query matrix of the latent-source attention. */
  readonly derived = new DerivedWeights();
  readonly seanetEncoder: SEANetEncoder;
  readonly backwardsolution: BackwardSolution;
  readonly kProj: InferenceLinear;
  constructor(readonly cfg: BrainTokenizerConfig) {
    super();
    const D = cfg.nDim;
    this.neuros = this.registerParameter("neuros", normal([cfg.nNeuro, D]))!;
    this.seanetEncoder = this.registerModule("seanet_encoder", new SEANetEncoder({ ...cfg, dimension: D }));
    this.backwardsolution = this.registerModule("backwardsolution", new BackwardSolution(D, cfg.nHead));
    this.kProj = this.registerModule("k_proj", new InferenceLinear(D, D));
  }

  private queryBlock(): tf.Tensor {
    return this.derived.get("queryBlock", [this.neuros], () => blockDiagonalQueries(this.neuros, this.cfg.nHead));
  }

  prepareDerived(): void {
    this.queryBlock();
  }

  /**
   * @param x windows [B, C, N, L]
   * @param sensorEmb [B, C, D]
   * @returns latents [B, P, N, T, D] (T = frames per window)
   */
  forward(x: tf.Tensor, sensorEmb: tf.Tensor): tf.Tensor {
    const [B, C, N, L] = x.shape as [number, number, number, number];
    const D = this.cfg.nDim;
    const T = framesPerWindow(this.cfg);
    return tf.tidy(() => {
      const feat = this.seanetEncoder.call(x.reshape([B * C * N, L, 1])); // [BCN, T, D]
      const tokens = feat.reshape([B, C, N, T, D]).transpose([0, 2, 3, 1, 4]); // [B, N, T, C, D]
      const keys = this.kProj.call(tf.add(tokens, sensorEmb.reshape([B, 1, 1, C, D])));
      const out = this.backwardsolution.call(this.neuros, keys.reshape([B * N * T, C, D]), tokens.reshape([B * N * T, C, D]), this.training ? undefined : this.queryBlock());
      return out.reshape([B, N, T, this.cfg.nNeuro, D]).transpose([0, 3, 1, 2, 4]);
    });
  }
}

/** `BrainOmniDecoder`: sensor-query cross-attention, then SEANet decoder per (channel, window). */
export class TokenizerDecoder extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  readonly forwardsolution: ForwardSolution;
  readonly seanetDecoder: SEANetDecoder;
  constructor(readonly cfg: BrainTokenizerConfig) {
    super();
    this.forwardsolution = this.registerModule("forwardsolution", new ForwardSolution(cfg.nDim, cfg.nHead));
    this.seanetDecoder = this.registerModule("seanet_decoder", new SEANetDecoder({ ...cfg, dimension: cfg.nDim }));
  }

  /**
   * @param latents quantised [B, P, N, T, D]
   * @param sensorEmb [B, C, D] of the sensors to reconstruct (any set)
   * @returns [B, C, N, L]
   */
  forward(latents: tf.Tensor, sensorEmb: tf.Tensor): tf.Tensor {
    const [B, P, N, T, D] = latents.shape as [number, number, number, number, number];
    const C = sensorEmb.shape[1]!;
    return tf.tidy(() => {
      const lat = latents.transpose([0, 2, 3, 1, 4]).reshape([B * N * T, P, D]);
      const q = tf.broadcastTo(sensorEmb.reshape([B, 1, C, D]), [B, N * T, C, D]).reshape([B * N * T, C, D]);
      const per = this.forwardsolution.call(q, lat); // [BNT, C, D]
      const rows = per.reshape([B, N, T, C, D]).transpose([0, 3, 1, 2, 4]).reshape([B * C * N, T, D]);
      const y = this.seanetDecoder.call(rows); // [BCN, L, 1]
      return y.reshape([B, C, N, this.cfg.windowLength]);
    });
  }
}

/**
 * The official `_init_weights` (applied by `self.apply` in both stages):
 * Linear weights trunc_normal(std 0.02) with zero bias, Embedding
 * trunc_normal(0.02); norms start at 1; convolutions and LSTMs keep PyTorch's
 * defaults. Zero biases matter: the latents are L2-normalised, so a shared
 * bias would make every token look alike and collapse the codebook.
 * `fan-in` uses std 1/√in instead of 0.02 and zero convolution biases: with
 * the official init the attention is uniform and all latents start nearly
 * parallel (cosine ≈ 0.99), which a short training run cannot escape; the
 * demonstration checkpoint starts from it.
 */
export function officialInit(root: AnyModule, linearStd: "official" | "fan-in" = "official"): void {
  for (const [, m] of root.namedModules()) {
    if (m instanceof Linear) {
      tf.tidy(() => {
        m.weight.assign(truncNormal(m.weight.shape, linearStd === "official" ? 0.02 : 1 / Math.sqrt(m.inFeatures), -Infinity, Infinity));
        m.bias?.assign(tf.zerosLike(m.bias));
      });
    } else if (m instanceof Embedding) {
      tf.tidy(() => m.weight.assign(truncNormal(m.weight.shape, 0.02)));
    } else if (linearStd === "fan-in" && (m instanceof Conv1d || m instanceof ConvTranspose1d) && m.bias) {
      // Default conv biases give every SEANet feature one shared direction (cosine ≈ 0.96–0.99).
      tf.tidy(() => m.bias!.assign(tf.zerosLike(m.bias!)));
    }
  }
}

/** Inputs of every tokenizer pass. */
export interface TokenizerBatch {
  /** [B, C, T] group-normalised signal at 256 Hz. */
  x: tf.Tensor;
  /** [B, C, 6] normalised sensor vectors. */
  pos: tf.Tensor;
  /** [B, C] int32 type ids. */
  sensorType: tf.Tensor;
}

/** Output of `tokenize`. */
export interface TokenizeOutput {
  /** Sum of codewords [B, P, N·T, D]. */
  features: tf.Tensor;
  /** Codes [B, P, N·T, Q] int32. */
  indices: tf.Tensor;
}

/** Output of `reconstruct` (the official `visualize` plus codes and losses). */
export interface ReconstructOutput {
  /** Windows [B, C, N, L] z-scored per window (the reconstruction target). */
  target: tf.Tensor;
  /** Reconstruction [B, C, N, L]. */
  xRec: tf.Tensor;
  /** Codes [B, P, N, T, Q]. */
  indices: tf.Tensor;
  losses: TokenizerLosses;
}

/** Randomness of one training forward, drawn by the caller or replayed from a fixture. */
export interface ChannelDropDraw {
  /** Channel permutation (position i holds original channel perm[i]). */
  perm: Int32Array;
  /** Leading permuted channels hidden from the encoder. */
  nMasked: number;
  /** Standard-normal noise [B, C − nMasked, N, L] (multiplied by 0.1 inside). */
  noise: tf.Tensor;
}

/** Output of the training objective. */
export interface TrainForwardOutput {
  losses: TokenizerLosses;
  /** Codes [B, P, N, T, Q]. */
  indices: tf.Tensor;
  /** Reconstruction of all C permuted channels [B, C, N, L]. */
  xRec: tf.Tensor;
  /** Target of all C permuted channels [B, C, N, L]. */
  target: tf.Tensor;
}

/**
 * BrainTokenizer (stage 1): a sensor-aware VQ-VAE. Any channel count and any
 * mix of EEG/MAG/GRAD sensors in; 16 latent sources × 8 frames per 2-s window
 * × 4 RVQ codes out. Parameter names are the official state-dict names.
 */
export class BrainTokenizer extends Module<[TokenizerBatch], TokenizeOutput> {
  readonly cfg: BrainTokenizerConfig;
  readonly sensorEmbed: SensorEncoder;
  readonly encoder: TokenizerEncoder;
  readonly quantizer: BrainQuantizer;
  readonly decoder: TokenizerDecoder;

  constructor(cfg: BrainTokenizerConfig) {
    super();
    this.cfg = validateTokenizerConfig({ ...cfg, ratios: [...cfg.ratios] });
    this.sensorEmbed = this.registerModule("sensor_embed", new SensorEncoder(cfg.nDim));
    this.encoder = this.registerModule("encoder", new TokenizerEncoder(this.cfg));
    this.quantizer = this.registerModule("quantizer", new BrainQuantizer(cfg.nDim, cfg.codebookSize, cfg.numQuantizers, { rotationTrick: cfg.rotationTrick }));
    this.decoder = this.registerModule("decoder", new TokenizerDecoder(this.cfg));
    officialInit(this);
  }

  /**
   * Eval mode builds the inference-only derived weights (convolution filters,
   * recurrent weights; see `derived.ts`) so that forwards allocate nothing
   * that outlives them; training mode frees them.
   */
  override train(mode = true): this {
    super.train(mode);
    if (mode) releaseDerived(this);
    else prepareDerived(this);
    return this;
  }

  /** Frees parameters, buffers and the derived inference weights. */
  override dispose(): void {
    releaseDerived(this);
    super.dispose();
  }

  private check(b: TokenizerBatch): void {
    const { x, pos, sensorType } = b;
    if (x.rank !== 3) throw new ShapeError("x", ["B", "C", "T"], x.shape);
    const [B, C] = x.shape as [number, number];
    if (pos.rank !== 3 || pos.shape[0] !== B || pos.shape[1] !== C || pos.shape[2] !== 6) throw new ShapeError("pos", [B, C, 6], pos.shape);
    if (sensorType.rank !== 2 || sensorType.shape[0] !== B || sensorType.shape[1] !== C) throw new ShapeError("sensorType", [B, C], sensorType.shape);
    if (C < 1) throw new ShapeError("x", ["B", ">=1", "T"], x.shape);
  }

  /** Encoder + quantizer on windows [B, C, N, L] with sensor embeddings [B, C, D]. */
  encodeWindows(windows: tf.Tensor, sensorEmb: tf.Tensor): RvqOutput & { latent: tf.Tensor } {
    const latent = this.encoder.call(windows, sensorEmb);
    const q = this.quantizer.call(latent);
    return { ...q, latent };
  }

  /**
   * The official `tokenize` (eval, no channel drop, no noise).
   * @param overlap window overlap in [0, 1) (0 for codes, 0.25 for stage 2)
   */
  tokenize(batch: TokenizerBatch, overlap = 0): TokenizeOutput {
    this.check(batch);
    return tf.tidy(() => {
      const windows = unfoldWindows(batch.x, this.cfg.windowLength, overlap);
      const se = this.sensorEmbed.call(batch.pos, batch.sensorType);
      const q = this.encodeWindows(windows, se);
      const [B, P, N, T, D] = q.quantized.shape as [number, number, number, number, number];
      return { features: q.quantized.reshape([B, P, N * T, D]), indices: q.indices.reshape([B, P, N * T, this.cfg.numQuantizers]) };
    });
  }

  /** `call(batch)` = `tokenize(batch, 0)`. */
  forward(batch: TokenizerBatch): TokenizeOutput {
    return this.tokenize(batch, 0);
  }

  /**
   * Decodes latents for any sensor set.
   * @param quantized [B, P, N, T, D] (or [B, P, N·T, D] with T = frames per window)
   * @param pos [B, C, 6] @param sensorType [B, C] → [B, C, N, L]
   */
  decode(quantized: tf.Tensor, pos: tf.Tensor, sensorType: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let lat = quantized;
      if (lat.rank === 4) {
        const [B, P, W, D] = lat.shape as [number, number, number, number];
        const T = framesPerWindow(this.cfg);
        if (W % T !== 0) throw new ShapeError("latents", [B, P, `k·${T}`, D], lat.shape);
        lat = lat.reshape([B, P, W / T, T, D]);
      }
      return this.decoder.call(lat, this.sensorEmbed.call(pos, sensorType));
    });
  }

  /** The official `visualize` (overlap 0, no drop) plus the loss terms. */
  reconstruct(batch: TokenizerBatch): ReconstructOutput {
    this.check(batch);
    return tf.tidy(() => {
      const windows = unfoldWindows(batch.x, this.cfg.windowLength, 0);
      const se = this.sensorEmbed.call(batch.pos, batch.sensorType);
      const q = this.encodeWindows(windows, se);
      const xRec = this.decoder.call(q.quantized, se);
      const target = zscoreWindows(windows);
      return { target, xRec, indices: q.indices, losses: tokenizerLoss(xRec, target, q.commitLoss) } as unknown as tf.TensorContainer;
    }) as unknown as ReconstructOutput;
  }

  /** Draws the training forward's channel permutation and noise from the seeded source. */
  drawChannelDrop(B: number, C: number, N: number, rand: { int(n: number): number; normalArray(n: number, mean?: number, std?: number): Float32Array | Float64Array }): ChannelDropDraw {
    const perm = Int32Array.from({ length: C }, (_, i) => i);
    for (let i = C - 1; i > 0; i--) {
      const j = rand.int(i + 1);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    const nMasked = Math.max(Math.floor(0.25 * C), 1);
    if (nMasked >= C) throw new ShapeError("x (training needs at least 2 channels: 25% are hidden)", ["B", ">=2", "T"], [B, C]);
    const L = this.cfg.windowLength;
    const noise = tf.tensor(Float32Array.from(rand.normalArray(B * (C - nMasked) * N * L)), [B, C - nMasked, N, L]);
    return { perm, nMasked, noise };
  }

  /**
   * The official training objective `forward`: permute channels, hide the
   * first `nMasked`, add 0.1·noise to the rest, encode + quantize, decode all
   * C channels from their sensor embeddings, loss against the z-scored windows.
   * The quantizer updates its codebooks when the module is in training mode.
   */
  trainForward(batch: TokenizerBatch, draw: ChannelDropDraw, phaseWeight = 0.5): TrainForwardOutput {
    this.check(batch);
    return tf.tidy(() => {
      const windows = unfoldWindows(batch.x, this.cfg.windowLength, 0);
      const C = windows.shape[1]!;
      const se = this.sensorEmbed.call(batch.pos, batch.sensorType);
      const permT = tf.tensor1d(draw.perm, "int32");
      const xp = tf.gather(windows, permT, 1);
      // The sensor embedding needs a gradient: gather rows of [C, B·D] with the backend-safe gradient.
      const D = se.shape[2]!;
      const B = se.shape[0]!;
      const sp = gatherRows(se.transpose([1, 0, 2]).reshape([C, B * D]), permT).reshape([C, B, D]).transpose([1, 0, 2]);
      const m = draw.nMasked;
      const visible = tf.add(tf.slice(xp, [0, m, 0, 0], [-1, C - m, -1, -1]), tf.mul(draw.noise, 0.1));
      const q = this.encodeWindows(visible, tf.slice(sp, [0, m, 0], [-1, C - m, -1]));
      const xRec = this.decoder.call(q.quantized, sp);
      const target = zscoreWindows(xp);
      return { losses: tokenizerLoss(xRec, target, q.commitLoss, phaseWeight), indices: q.indices, xRec, target } as unknown as tf.TensorContainer;
    }) as unknown as TrainForwardOutput;
  }
}
