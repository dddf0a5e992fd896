/**
 * Trains the small demonstration BrainTokenizer bundled with neurocode, from
 * scratch and deterministically (seed 2026), then scores it on held-out data.
 * Run: npx tsx models/brainomni-demo/train-demo.ts [steps] [out.safetensors]
 * Data: one step in three draws 2-s windows from the real recordings of
 * `DEMO_FILES` (shared/data, each in turn; their last seconds are held out),
 * the others simulated EEG/MEG mixtures (src/models/brainomni/simulate.ts).
 * Fails with a ConfigError naming the files when shared/data lacks any of them.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed, rng } from "../../src/engine/random.js";
import { saveCheckpoint } from "../../src/models/brainomni/checkpoint.js";
import { DEMO_TOKENIZER } from "../../src/models/brainomni/config.js";
import { simulateBatch, simulatedTensors } from "../../src/models/brainomni/simulate.js";
import { BrainTokenizer, officialInit } from "../../src/models/brainomni/tokenizer.js";
import { TokenizerTrainer } from "../../src/models/brainomni/train.js";
import { DEMO_FILES, evaluateDemo, heldOutSets, loadDemoFiles, sampleRecordingBatch } from "./demo-data.js";

const steps = Number(process.argv[2] ?? 1800);
// Phase-loss weight: 0 for the first `warmSteps` (its gradient ~1/|F(x̂)| swamps everything
// while the reconstruction is still near zero), then the official 0.5.
const warmSteps = Math.round(steps * 0.7);
const out = process.argv[3] ?? "models/brainomni-demo/braintokenizer-demo.safetensors";
const BATCH = 4;
await initBackend();
const recs = loadDemoFiles();
for (const r of recs) console.log(`${r.file.rel}: ${r.train.channels.length} channels, ${(r.train.data.shape[1]! / 256).toFixed(2)} s for training, ${r.file.heldOutSeconds} s held out`);
manualSeed(2026);
const tok = new BrainTokenizer(DEMO_TOKENIZER);
officialInit(tok, "fan-in");
const trainer = new TokenizerTrainer(tok, { steps, lr: 2e-3, emaInit: "scaled", phaseWeight: 0 });
const kinds = ["eeg", "meg", "mixed"] as const;
const t0 = Date.now();
let simulated = 0;
for (let s = 0; s < steps; s++) {
  const r = rng();
  // One step in three: a real recording (each in turn); the others: a simulated batch (EEG, MEG, mixed in turn).
  const real = s % 3 === 0 ? recs[(s / 3) % recs.length]! : undefined;
  const batch = real
    ? sampleRecordingBatch(real.train, r, BATCH)
    : simulatedTensors(simulateBatch(r, { batch: BATCH, channels: 8 + r.int(17), samples: 512, kind: kinds[simulated++ % 3]! }));
  trainer.phaseWeight = s < warmSteps ? 0 : 0.5;
  const log = trainer.step(batch);
  tf.dispose([batch.x, batch.pos, batch.sensorType]);
  if (s % 20 < 3 || s === steps - 1) {
    const what = real ? `${real.file.rel.split("/").pop()} (${batch.x.shape[1]} ch)` : "simulated";
    console.log(`step ${log.step} ${what} lr ${log.lr.toExponential(2)} loss ${log.loss.toFixed(4)} pcc ${log.pcc.toFixed(3)} time ${log.timeLoss.toFixed(3)} commit ${log.commitmentLoss.toFixed(4)} usage ${log.codebookUsage.map((u) => u.toFixed(2)).join("/")} (${((Date.now() - t0) / 1000).toFixed(0)} s, ${tf.memory().numTensors} tensors)`);
  }
}
const minutes = (Date.now() - t0) / 60000;
tok.eval();
const evaluation = evaluateDemo(tok, heldOutSets(recs));
console.log("held-out evaluation:", JSON.stringify(evaluation, null, 1));
saveCheckpoint(tok, out, {
  description: "neurocode demonstration BrainTokenizer: seconds of real EEG, real MEG/EEG sensor geometry with synthetic signals, and simulated signals; not a scientific model",
  training: `${steps} steps (phase-loss weight 0 for the first ${warmSteps}, then 0.5) of TokenizerTrainer (official objective, 25% channel drop), batch ${BATCH}; every third step 2-s windows (8-32 random channels) of ${DEMO_FILES.map((f) => f.rel).join(", ")} in turn, without their last ${DEMO_FILES.map((f) => `${f.heldOutSeconds}`).join("/")} recorded seconds, the other steps simulated EEG/MEG/mixed with 8-24 channels; lr 2e-3 warm-up cosine, AdamW (0.5, 0.9), Linear init std 1/sqrt(fan_in), k-means→EMA hand-over "scaled", seed 2026; ${minutes.toFixed(1)} min`,
});
console.log(`saved ${out} after ${minutes.toFixed(1)} min of training`);
