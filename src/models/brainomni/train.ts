import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../../errors.js";
import { rng } from "../../engine/random.js";
import { AdamW, clipGradNorm, warmupCosine, type OptimizerState } from "../../nn/optim.js";
import type { BrainTokenizer, TokenizerBatch } from "./tokenizer.js";

/** Options of `TokenizerTrainer` (defaults are the official ones except `steps`). */
export interface TokenizerTrainOptions {
  /** Total optimiser steps (sets the schedule). */
  steps: number;
  /** Peak learning rate (2e-4). */
  lr?: number;
  /** AdamW betas ((0.5, 0.9)). */
  betas?: [number, number];
  /** AdamW eps (1e-5). */
  eps?: number;
  /** Decoupled weight decay (0.01; none on norms and the type embedding). */
  weightDecay?: number;
  /** Warm-up fraction of the steps, from 0.1× (0.1). */
  warmupFraction?: number;
  /** Final learning-rate factor of the cosine (0.05). */
  minFactor?: number;
  /** Clip the global gradient norm (none upstream; default none). */
  clipNorm?: number;
  /** Weight of the phase loss (0.5 upstream). */
  phaseWeight?: number;
  /** k-means → EMA hand-over (`official` upstream; `scaled` avoids the early codebook collapse, see EuclideanCodebook.emaInit). */
  emaInit?: "official" | "scaled";
}

/** Optimiser state of a `TokenizerTrainer` (see `stateDict`). */
export interface TokenizerTrainerState {
  step: number;
  decay: OptimizerState;
  noDecay: OptimizerState;
}

/** Host numbers of one training step. */
export interface TokenizerStepLog {
  step: number;
  lr: number;
  loss: number;
  timeLoss: number;
  pcc: number;
  commitmentLoss: number;
  ampLoss: number;
  phaseLoss: number;
  /** Per level, fraction of codes with EMA count ≥ 1. */
  codebookUsage: number[];
}

/**
 * Trains a BrainTokenizer with the official objective: random channel
 * permutation, 25% of channels hidden from the encoder, 0.1·N(0,1) noise on
 * the rest, reconstruction of all channels, loss time + exp(−pcc) + commit +
 * amp + 0.5·phase; codebooks by EMA (k-means on first use, dead codes
 * re-sampled); AdamW on everything else with a warm-up cosine schedule.
 */
export class TokenizerTrainer {
  private readonly decay: AdamW;
  private readonly noDecay: AdamW;
  private readonly schedule: (step: number) => number;
  private stepIndex = 0;
  /** Weight of the phase loss for the next steps (settable, e.g. 0 during a warm start). */
  phaseWeight: number;

  constructor(readonly tokenizer: BrainTokenizer, readonly opts: TokenizerTrainOptions) {
    if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new ConfigError("steps", `must be a positive integer, got ${opts.steps}`);
    this.phaseWeight = opts.phaseWeight ?? 0.5;
    for (const cb of tokenizer.quantizer.codebooks()) cb.emaInit = opts.emaInit ?? "official";
    const lr = opts.lr ?? 2e-4;
    const common = { lr, betas: opts.betas ?? ([0.5, 0.9] as [number, number]), eps: opts.eps ?? 1e-5 };
    const named = tokenizer.namedParameters().filter(([, p]) => p.trainable);
    // Upstream excludes norms and the sensor-type embedding from weight decay.
    const exempt = (n: string): boolean => n.endsWith("norm.weight") || n.startsWith("sensor_embed.sensor_embedding_layer");
    this.decay = new AdamW(named.filter(([n]) => !exempt(n)).map(([, p]) => p), { ...common, weightDecay: opts.weightDecay ?? 0.01 });
    this.noDecay = new AdamW(named.filter(([n]) => exempt(n)).map(([, p]) => p), { ...common, weightDecay: 0 });
    const warm = Math.round((opts.warmupFraction ?? 0.1) * opts.steps);
    // DeepSpeed WarmupCosineLR warms up linearly from 0.1× (the shared schedule starts near 0).
    const cosine = warmupCosine({ warmupSteps: 0, totalSteps: Math.max(1, opts.steps - warm), baseLr: lr, minLr: lr * (opts.minFactor ?? 0.05) });
    this.schedule = (s) => (s < warm ? lr * (0.1 + (0.9 * s) / warm) : cosine(s - warm));
  }

  /** One optimiser step on `batch` (the tokenizer is put in training mode). */
  step(batch: TokenizerBatch): TokenizerStepLog {
    const tok = this.tokenizer;
    tok.train();
    const [B, C, T] = batch.x.shape as [number, number, number];
    const N = Math.max(1, Math.floor(T / tok.cfg.windowLength));
    const draw = tok.drawChannelDrop(B, C, N, rng());
    const lr = this.schedule(this.stepIndex);
    this.decay.lr = lr;
    this.noDecay.lr = lr;
    let terms: number[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const out = tok.trainForward(batch, draw, this.phaseWeight);
      const l = out.losses;
      terms = [l.timeLoss, l.pcc, l.commitmentLoss, l.ampLoss, l.phaseLoss].map((t) => t.dataSync()[0]!);
      tf.dispose([out.indices, out.xRec, out.target]);
      return l.loss as tf.Scalar;
    }, tok.trainableParameters());
    try {
      if (this.opts.clipNorm !== undefined) clipGradNorm(grads, this.opts.clipNorm);
      this.decay.step(grads);
      this.noDecay.step(grads);
      this.stepIndex++;
      const [timeLoss, pcc, commitmentLoss, ampLoss, phaseLoss] = terms as [number, number, number, number, number];
      return { step: this.stepIndex, lr, loss: value.dataSync()[0]!, timeLoss, pcc, commitmentLoss, ampLoss, phaseLoss, codebookUsage: tok.quantizer.codebooks().map((c) => c.usage()) };
    } finally {
      tf.dispose([value, ...Object.values(grads), draw.noise]);
    }
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.stepIndex;
  }

  /**
   * What a resumable run saves besides the tokenizer's own state dict (which
   * holds the EMA codebooks): the step and both optimisers' slots, keyed by
   * dotted parameter names.
   */
  stateDict(): TokenizerTrainerState {
    const names = new Map(this.tokenizer.namedParameters().map(([n, p]) => [p, n]));
    return { step: this.stepIndex, decay: this.decay.stateDict(names), noDecay: this.noDecay.stateDict(names) };
  }

  /** Restores what `stateDict` saved (same tokenizer architecture). */
  loadStateDict(state: TokenizerTrainerState): void {
    const names = new Map(this.tokenizer.namedParameters().map(([n, p]) => [p, n]));
    this.decay.loadStateDict(state.decay, names);
    this.noDecay.loadStateDict(state.noDecay, names);
    this.stepIndex = state.step;
  }

  /** Frees the optimiser state. */
  dispose(): void {
    this.decay.dispose();
    this.noDecay.dispose();
  }
}
