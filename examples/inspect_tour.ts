/**
 * A tour of the inspection core: train a small transformer on a synthetic
 * task, record it, and print one JSON object with per-layer void fractions
 * (LAC), the massive activations a planted large bias creates, per-layer
 * sparsity of the ReLU feed-forwards, and how much the output changes when the
 * most void layer is skipped.
 *
 *   npx tsx examples/inspect_tour.ts [--out DIR]
 *
 * Writes DIR/tour.safetensors (the trained model; `neurocode inspect
 * --checkpoint` reads it) and DIR/activations.arrow (the recording).
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  ActivationRecorder,
  TourTransformer,
  initBackend,
  manualSeed,
  massiveFromTable,
  outputEffect,
  rng,
  saveCheckpoint,
  skipModules,
  sparsityByLayer,
  voidsFromTable,
  type TourTransformerConfig,
} from "../src/index.js";

const CONFIG: TourTransformerConfig = { inDim: 4, dModel: 32, nHead: 4, layers: 4, dimFeedforward: 64, classes: 3 };
const [BATCH, T, STEPS] = [16, 16, 40];
const PLANTED = { module: "blocks.1.linear2", feature: 7, bias: 20000 };

/**
 * The task: in each sequence one of the first three channels (the class)
 * oscillates with a larger amplitude than the others; random phases and noise.
 * Every token predicts the class (tokens near a zero crossing need the others).
 */
function batch(n: number): { x: tf.Tensor; y: tf.Tensor; labels: Int32Array } {
  const r = rng();
  const x = new Float32Array(n * T * CONFIG.inDim);
  const labels = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const cls = r.int(CONFIG.classes);
    labels[b] = cls;
    for (let c = 0; c < CONFIG.inDim; c++) {
      const phase = 2 * Math.PI * r.uniform();
      const amp = c === cls ? 1.5 : 0.5;
      for (let t = 0; t < T; t++) x[(b * T + t) * CONFIG.inDim + c] = amp * Math.sin(2 * Math.PI * 0.1 * t + phase) + 0.3 * r.normal();
    }
  }
  const perToken = Int32Array.from({ length: n * T }, (_, i) => labels[Math.floor(i / T)]!);
  return { x: tf.tensor(x, [n, T, CONFIG.inDim]), y: tf.oneHot(tf.tensor1d(perToken, "int32"), CONFIG.classes), labels };
}

function logitsOf(model: TourTransformer, x: tf.Tensor): Float32Array {
  return tf.tidy(() => model.call(x).dataSync() as Float32Array).slice();
}

function accuracy(logits: Float32Array, y: tf.Tensor): number {
  const truth = tf.tidy(() => y.argMax(-1).dataSync());
  let ok = 0;
  for (let i = 0; i < truth.length; i++) {
    const row = logits.subarray(i * CONFIG.classes, (i + 1) * CONFIG.classes);
    if (row.indexOf(Math.max(...row)) === truth[i]) ok++;
  }
  return ok / truth.length;
}

export async function tour(outDir: string): Promise<Record<string, unknown>> {
  const backend = await initBackend();
  manualSeed(7);
  mkdirSync(outDir, { recursive: true });
  const model = new TourTransformer(CONFIG);

  const opt = tf.train.adam(1e-2);
  for (let step = 0; step < STEPS; step++) {
    const { x, y } = batch(BATCH);
    tf.tidy(() => {
      opt.minimize(() => tf.losses.softmaxCrossEntropy(y.reshape([-1, CONFIG.classes]), model.call(x).reshape([-1, CONFIG.classes])) as tf.Scalar, false, model.trainableParameters());
    });
    tf.dispose([x, y]);
  }
  opt.dispose();
  model.eval();
  const checkpoint = join(outDir, "tour.safetensors");
  saveCheckpoint(model, checkpoint, { modelName: "tour-transformer", config: CONFIG });

  // Record the trained model on held-out data: residual blocks and the ReLU inputs.
  const test = batch(8);
  const layers = Array.from({ length: CONFIG.layers }, (_, i) => `blocks.${i}`);
  const rec = new ActivationRecorder(model, { record: ["blocks.*", "blocks.*.linear1"] });
  const base = logitsOf(model, test.x);
  rec.detach();
  const table = rec.table({ model: "tour-transformer" });
  const voids = voidsFromTable(table, { layers });
  const sparsity = sparsityByLayer(table).filter((s) => s.module.endsWith("linear1"));

  // Skip the most void layer: output := input.
  let most = 0;
  voids.voidFraction.forEach((f, l) => (most = f > voids.voidFraction[most]! ? l : most));
  const skip = skipModules(model, layers[most]!);
  const skipped = logitsOf(model, test.x);
  skip.remove();

  // Plant a large bias in one feature of block 1's feed-forward output: it lands in the residual stream.
  const bias = model.stateDict().get(`${PLANTED.module}.bias`) as tf.Variable;
  const saved = bias.clone();
  bias.assign(tf.tidy(() => bias.add(tf.oneHot(tf.tensor1d([PLANTED.feature], "int32"), CONFIG.dModel).reshape([CONFIG.dModel]).mul(PLANTED.bias))));
  const planted = new ActivationRecorder(model, { record: "blocks.*", fullTensors: true });
  logitsOf(model, test.x);
  planted.detach();
  bias.assign(saved);
  saved.dispose();
  const plantedTable = planted.table({ model: "tour-transformer", planted: JSON.stringify(PLANTED) });
  const massive = massiveFromTable(plantedTable);
  const arrow = join(outDir, "activations.arrow");
  rec.write(arrow, { model: "tour-transformer", checkpoint });

  const byModule = new Map<string, { features: Set<number>; tokens: number; maxValue: number }>();
  for (const f of massive.flags) {
    const m = byModule.get(f.module) ?? { features: new Set<number>(), tokens: 0, maxValue: 0 };
    m.features.add(f.feature);
    m.tokens++;
    m.maxValue = Math.max(m.maxValue, Math.abs(f.value));
    byModule.set(f.module, m);
  }
  const result = {
    backend,
    config: CONFIG,
    accuracy: accuracy(base, test.y),
    voidFraction: Object.fromEntries(layers.map((l, i) => [l, voids.voidFraction[i]])),
    sparsity: Object.fromEntries(sparsity.map((s) => [s.module, s.positiveFraction])),
    planted: PLANTED,
    massive: [...byModule].map(([module, m]) => ({
      module,
      features: [...m.features],
      tokens: m.tokens,
      maxAbs: m.maxValue,
      medianAbs: massive.layers.find((l) => l.module === module)!.median,
    })),
    skip: {
      layer: layers[most],
      voidFraction: voids.voidFraction[most],
      outputChange: outputEffect(skipped, base, CONFIG.classes),
      accuracyAfter: accuracy(skipped, test.y),
    },
    files: { checkpoint, activations: arrow },
  };
  tf.dispose([test.x, test.y]);
  model.dispose();
  return result;
}

const outArg = process.argv.indexOf("--out");
const out = outArg >= 0 ? process.argv[outArg + 1]! : mkdtempSync(join(tmpdir(), "inspect-tour-"));
tour(out).then(
  (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
  (e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
