/**
 * A tour of the mixture-of-experts core: train a small transformer with a
 * dense feed-forward on a synthetic task whose rule changes by input region,
 * upcycle its FFN into 4 experts (top-2), train briefly with the balancing
 * losses, merge the experts down to 2 (MC-SMoE) and compress them (low rank +
 * sparse). Prints one JSON object:
 *
 *   upcycleMaxAbsDiff   max |MoE − dense| of the model output right after upcycling
 *   auxLossUniform      switch loss of the trained layer with its router zeroed (uniform routing) — 1
 *   zLossZeroLogits8    router z-loss of an 8-expert layer with all-zero logits — (ln 8)²
 *   accuracy            dense, upcycled, trained MoE, merged, compressed (held-out tokens)
 *   parameters          expert parameters before/after merging and compression, and model totals
 *   droppedFraction     mean share of assignments dropped by the capacity limit while training (cf 1.0)
 *
 *   npx tsx examples/moe_tour.ts
 */
import * as tf from "@tensorflow/tfjs";
import {
  AdamW,
  LayerNorm,
  Linear,
  Module,
  SelfAttention,
  buildFeedForward,
  collectMoEAux,
  compressMoE,
  initBackend,
  manualSeed,
  mergeMoE,
  rng,
  trainStep,
  upcycleFeedForward,
  type FeedForward,
  type FeedForwardBlock,
  MoEFeedForward,
} from "../src/index.js";

const [D, CLASSES, SEQ, BATCH] = [32, 3, 8, 16];
const [DENSE_STEPS, MOE_STEPS] = [160, 60];

/** Pre-norm transformer block whose feed-forward can be swapped (dense → MoE). */
class Block extends Module {
  readonly norm1 = this.registerModule("norm1", new LayerNorm(D));
  readonly attn = this.registerModule("attn", new SelfAttention(D, 4));
  readonly norm2 = this.registerModule("norm2", new LayerNorm(D));
  ffn: FeedForwardBlock = this.registerModule("ffn", buildFeedForward(D, { type: "dense", hidden: 64 }));
  setFfn(m: FeedForwardBlock): void {
    this.ffn = this.registerModule("ffn", m);
  }
  /** The residual stream after attention. */
  attended(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(x, this.attn.call(this.norm1.call(x))));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = this.attended(x);
      return tf.add(h, this.ffn.call(this.norm2.call(h)));
    });
  }
}

class TourModel extends Module {
  readonly inProj = this.registerModule("in_proj", new Linear(4, D));
  readonly block = this.registerModule("block", new Block());
  readonly head = this.registerModule("head", new Linear(D, CLASSES));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.head.call(this.block.call(this.inProj.call(x))));
  }
}

/** Per token: the quadrant of (x0, x1) picks one of 4 linear rules on (x2, x3); the class is its argmax. */
const RULES = Array.from({ length: 4 }, () => Array.from({ length: CLASSES * 2 }, () => rng().normal()));
function batch(n: number): { x: tf.Tensor; y: tf.Tensor; labels: Int32Array } {
  const x = rng().normalArray(n * SEQ * 4);
  const labels = new Int32Array(n * SEQ);
  for (let t = 0; t < n * SEQ; t++) {
    const v = x.subarray(t * 4, t * 4 + 4);
    const rule = RULES[(v[0]! > 0 ? 2 : 0) + (v[1]! > 0 ? 1 : 0)]!;
    const scores = Array.from({ length: CLASSES }, (_, c) => rule[2 * c]! * v[2]! + rule[2 * c + 1]! * v[3]!);
    labels[t] = scores.indexOf(Math.max(...scores));
  }
  return { x: tf.tensor(x, [n, SEQ, 4]), y: tf.oneHot(tf.tensor1d(labels, "int32"), CLASSES), labels };
}

function accuracy(model: TourModel, x: tf.Tensor, labels: Int32Array): number {
  model.eval();
  const pred = Array.from(tf.tidy(() => tf.argMax(model.call(x), -1).dataSync()));
  model.train();
  return pred.reduce((s, p, i) => s + (p === labels[i] ? 1 : 0), 0) / labels.length;
}

/** Trains for `steps`; returns the mean dropped-assignment share over the MoE layers' reports. */
function train(model: TourModel, steps: number, lr: number): number {
  const opt = new AdamW(model.trainableParameters(), { lr, weightDecay: 0 });
  let dropped = 0;
  let reports = 0;
  for (let s = 0; s < steps; s++) {
    const { x, y } = batch(BATCH);
    trainStep(model, () => {
      const { result, loss, layers } = collectMoEAux(model, () => model.call(x));
      for (const l of layers) (dropped += l.droppedFraction), reports++;
      return tf.add(tf.losses.softmaxCrossEntropy(tf.reshape(y, [-1, CLASSES]), tf.reshape(result, [-1, CLASSES])), loss) as tf.Scalar;
    }, opt);
    tf.dispose([x, y]);
  }
  opt.dispose();
  return reports ? dropped / reports : 0;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const outputs = (model: TourModel, x: tf.Tensor): Float32Array => {
  model.eval();
  const y = tf.tidy(() => model.call(x).dataSync() as Float32Array).slice();
  model.train();
  return y;
};

await initBackend();
manualSeed(6);
const model = new TourModel();
const test = batch(64);
train(model, DENSE_STEPS, 3e-3);
const denseAcc = accuracy(model, test.x, test.labels);
const denseOut = outputs(model, test.x);
const denseTotal = model.numParameters();

// Upcycle: 4 copies of the trained FFN, top-2 renormalised; cf 1.0 in training, no drops in eval.
const dense = model.block.ffn as FeedForward;
const moe = upcycleFeedForward(dense, { experts: 4, topK: 2, capacityFactor: 1.0, evalCapacityFactor: Infinity, activation: "gelu" });
model.block.setFfn(moe);
dense.dispose();
const upcycleMaxAbsDiff = maxAbsDiff(outputs(model, test.x), denseOut);
const upcycledAcc = accuracy(model, test.x, test.labels);
const droppedFraction = train(model, MOE_STEPS, 1e-3);
const moeAcc = accuracy(model, test.x, test.labels);

// The tokens the feed-forward sees: calibration data for merging, probe for the known numbers.
model.eval();
const ffnIn = tf.tidy(() => tf.reshape(model.block.norm2.call(model.block.attended(model.inProj.call(test.x))), [-1, D]));
model.train();

// Known numbers on real layers: zeroed routers route uniformly.
const uniform = new MoEFeedForward(D, { ...moe.options });
uniform.loadStateDict(moe.stateDict());
uniform.router.layer.weight.assign(tf.zerosLike(uniform.router.layer.weight));
const eight = new MoEFeedForward(D, { experts: 8, topK: 2, hidden: 8 });
eight.router.layer.weight.assign(tf.zerosLike(eight.router.layer.weight));
const [u, z] = [uniform.forwardWithAux(ffnIn), eight.forwardWithAux(ffnIn)];
const auxLossUniform = u.switchLoss.dataSync()[0]!;
const zLossZeroLogits8 = z.zLoss.dataSync()[0]!;
for (const o of [u, z]) tf.dispose([o.output, o.loss, o.switchLoss, o.zLoss, ...Object.values(o.load)]);
uniform.dispose();
eight.dispose();

// MC-SMoE: merge 4 → 2 experts using routing statistics of held-out tokens, then compress.
const moeTotal = model.numParameters();
const expertsBefore = moe.experts.numParameters();
const merged = mergeMoE(moe, ffnIn, { numGroups: 2 });
model.block.setFfn(merged.layer);
moe.dispose();
const mergedAcc = accuracy(model, test.x, test.labels);
const expertsMerged = merged.layer.experts.numParameters();
const mergedTotal = model.numParameters();
const report = compressMoE(merged.layer, { rank: 8, sparseFraction: 0.05 });
const compressedAcc = accuracy(model, test.x, test.labels);
tf.dispose([ffnIn, test.x, test.y]);

console.log(
  JSON.stringify(
    {
      upcycleMaxAbsDiff,
      auxLossUniform,
      zLossZeroLogits8,
      accuracy: { dense: denseAcc, upcycled: upcycledAcc, moe: moeAcc, merged: mergedAcc, compressed: compressedAcc },
      parameters: {
        denseModel: denseTotal,
        moeModel: moeTotal,
        mergedModel: mergedTotal,
        compressedModel: mergedTotal - report.expertParamsBefore + report.expertParamsAfter,
        expertsUpcycled: expertsBefore,
        expertsMerged,
        expertsCompressed: report.expertParamsAfter,
      },
      groups: Array.from(merged.groups.labels),
      usage: Array.from(merged.usage, (f) => +f.toFixed(4)),
      compressionError: +Math.max(...report.relativeErrors).toFixed(4),
      droppedFraction,
    },
    null,
    2,
  ),
);
