/**
 * Fine-tuning: a pretrained encoder (any Module that maps a batch of windows
 * to one feature vector each), a classification head on top, optional
 * freezing of the encoder, training with the resumable loop, and evaluation
 * with the papers' metrics.
 */
import * as tf from "@tensorflow/tfjs";
import { ValueError } from "../errors.js";
import { Dropout } from "../nn/dropout.js";
import { Linear } from "../nn/linear.js";
import { BatchNorm1d } from "../nn/norms.js";
import { crossEntropy, mseLoss } from "../nn/losses.js";
import { Module, type AnyModule } from "../nn/module.js";
import { AdamW } from "../nn/optim.js";
import { warmupCosine } from "../nn/optim.js";
import { epochBatches, takeSamples, type ArrayDataset } from "./dataset.js";
import { fit, type FitResult, type TrainEvent } from "./loop.js";
import { accuracy, balancedAccuracy, cohenKappa, f1Score, pearsonR, rocAuc, rocAucOvr } from "./metrics.js";

/** A pretrained network seen as a feature extractor: windows `[B, ...sample]` → features `[B, dim]`. */
export interface FeatureEncoder {
  /** The network whose parameters may be fine-tuned (registered as `encoder`). */
  module: AnyModule;
  /** Features of a batch (differentiable; called inside the loss). */
  embed: (x: tf.Tensor) => tf.Tensor;
  /** Feature width. */
  dim: number;
}

/**
 * Encoder + BatchNorm + dropout + linear head (a classifier or a regressor) (`norm.*`, `head.weight`,
 * `head.bias`). Pooled encoder features share a large common component and
 * differ between classes by small amounts; standardising each feature over
 * the batch (running statistics at evaluation) lets the head see those
 * differences, which matters most for linear probing.
 */
export class EncoderHead extends Module<[tf.Tensor], tf.Tensor> {
  readonly encoder: AnyModule;
  readonly norm: BatchNorm1d;
  readonly drop: Dropout;
  readonly head: Linear;
  /**
   * @param nOutputs classes for a classifier (≥ 2), 1 for a regression head
   */
  constructor(private readonly features: FeatureEncoder, readonly nOutputs: number, dropout = 0) {
    super();
    if (!Number.isInteger(nOutputs) || nOutputs < 1) throw new ValueError(`a head needs at least one output, got ${nOutputs}`);
    this.encoder = this.registerModule("encoder", features.module);
    this.norm = this.registerModule("norm", new BatchNorm1d(features.dim));
    this.drop = this.registerModule("drop", new Dropout(dropout));
    this.head = this.registerModule("head", new Linear(features.dim, nOutputs));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.head.call(this.drop.call(this.norm.call(this.features.embed(x)))));
  }
}

export interface FinetuneOptions {
  encoder: FeatureEncoder;
  /** Classes (classification), ignored for regression. */
  nClasses: number;
  /** `classification` (default; int32 labels, cross-entropy) or `regression` (float32 targets, MSE). */
  task?: "classification" | "regression";
  train: ArrayDataset;
  validation?: ArrayDataset;
  /** Train only the head (linear probing) when true (default false: full fine-tuning). */
  freezeEncoder?: boolean;
  epochs?: number;
  batchSize?: number;
  /** Peak learning rate of the warm-up + cosine schedule (default 1e-3). */
  lr?: number;
  weightDecay?: number;
  dropout?: number;
  seed?: number;
  patience?: number;
  stateDir?: string;
  resume?: boolean;
  onEvent?: (e: TrainEvent) => void;
}

/**
 * Builds the encoder + head and trains it (classification by default, or
 * regression); returns the model (eval mode) and the loop's result.
 * Validation picks the best epoch by balanced accuracy, or by Pearson r.
 */
export function finetuneClassifier(opts: FinetuneOptions): { model: EncoderHead; result: FitResult } {
  const regression = opts.task === "regression";
  if (regression !== opts.train.y instanceof Float32Array) throw new ValueError(regression ? "regression needs float32 targets" : "classification needs int32 labels");
  const model = new EncoderHead(opts.encoder, regression ? 1 : opts.nClasses, opts.dropout ?? 0);
  model.encoder.requiresGrad(!opts.freezeEncoder);
  const epochs = opts.epochs ?? 10;
  const batchSize = opts.batchSize ?? 32;
  const lr = opts.lr ?? 1e-3;
  const stepsPerEpoch = Math.ceil(opts.train.length / batchSize);
  const optimizer = new AdamW(model.trainableParameters(), { lr, weightDecay: opts.weightDecay ?? 0.01 });
  const result = fit({
    model,
    optimizer,
    loss: regression ? (x, y) => tf.tidy(() => mseLoss(tf.squeeze(model.call(x), [1]), y)) : (x, y) => crossEntropy(model.call(x), y),
    train: opts.train,
    ...(opts.validation
      ? {
          validation: opts.validation,
          score: (m: AnyModule, v: ArrayDataset) => (regression ? evaluateRegressor(m as EncoderHead, v, batchSize).pearsonR : evaluateClassifier(m as EncoderHead, v, batchSize).balancedAccuracy),
        }
      : {}),
    epochs,
    batchSize,
    seed: opts.seed ?? 0,
    schedule: warmupCosine({ baseLr: lr, warmupSteps: Math.min(stepsPerEpoch, 10), totalSteps: epochs * stepsPerEpoch }),
    clipNorm: 1,
    ...(opts.patience !== undefined ? { patience: opts.patience } : {}),
    ...(opts.stateDir ? { stateDir: opts.stateDir, resume: opts.resume ?? false } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
  optimizer.dispose();
  return { model: model.eval(), result };
}

/** Class probabilities `[n][nClasses]` of a dataset, in evaluation mode. */
export function predictProbabilities(model: EncoderHead, ds: ArrayDataset, batchSize = 32): number[][] {
  return predictRows(model, ds, batchSize, (y) => tf.softmax(y));
}

/** The model's outputs for every sample, in evaluation mode, after `post`. */
function predictRows(model: EncoderHead, ds: ArrayDataset, batchSize: number, post: (y: tf.Tensor) => tf.Tensor): number[][] {
  const wasTraining = model.training;
  model.eval();
  const out: number[][] = [];
  for (const idx of epochBatches(ds.length, batchSize, 0, 0, false)) {
    const { x } = takeSamples(ds, idx);
    const rows = tf.tidy(() => post(model.call(tf.tensor(x, [idx.length, ...ds.sampleShape]))).arraySync() as number[][]);
    out.push(...rows);
  }
  if (wasTraining) model.train();
  return out;
}

/** What the papers report for regression. */
export interface RegressionReport {
  pearsonR: number;
  /** Mean squared error, in the targets' units squared. */
  mse: number;
  n: number;
}

/** Evaluates a regression head on a dataset with float32 targets. */
export function evaluateRegressor(model: EncoderHead, ds: ArrayDataset, batchSize = 32): RegressionReport {
  const pred = predictRows(model, ds, batchSize, (y) => y).map((r) => r[0]!);
  const y = Array.from(ds.y);
  return { pearsonR: pearsonR(pred, y), mse: pred.reduce((s, p, i) => s + (p - y[i]!) ** 2, 0) / y.length, n: y.length };
}

/** The metrics the reference papers report for classification. */
export interface ClassificationReport {
  accuracy: number;
  balancedAccuracy: number;
  cohenKappa: number;
  f1Weighted: number;
  /** Binary AUROC, or one-vs-rest macro AUROC; `null` when a class is absent from the labels. */
  auroc: number | null;
  n: number;
}

/** Evaluates a classifier on a labelled dataset. */
export function evaluateClassifier(model: EncoderHead, ds: ArrayDataset, batchSize = 32): ClassificationReport {
  const probs = predictProbabilities(model, ds, batchSize);
  const pred = probs.map((p) => p.indexOf(Math.max(...p)));
  const y = Array.from(ds.y);
  const present = new Set(y);
  let auroc: number | null = null;
  if (present.size === model.nOutputs) auroc = model.nOutputs === 2 ? rocAuc(y, probs.map((p) => p[1]!)) : rocAucOvr(y, probs);
  return {
    accuracy: accuracy(y, pred),
    balancedAccuracy: balancedAccuracy(y, pred),
    cohenKappa: cohenKappa(y, pred),
    f1Weighted: f1Score(y, pred, "weighted"),
    auroc,
    n: ds.length,
  };
}
