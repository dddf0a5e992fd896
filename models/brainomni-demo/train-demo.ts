/**
 * Trains the small demonstration BrainTokenizer bundled with neurocode.
 * Run: npx tsx models/brainomni-demo/train-demo.ts [steps] [out.safetensors]
 * Data: simulated spatially smooth EEG/MEG mixtures (src/models/brainomni/simulate.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed, rng } from "../../src/engine/random.js";
import { saveCheckpoint } from "../../src/models/brainomni/checkpoint.js";
import { DEMO_TOKENIZER } from "../../src/models/brainomni/config.js";
import { simulateBatch, simulatedTensors } from "../../src/models/brainomni/simulate.js";
import { BrainTokenizer, officialInit } from "../../src/models/brainomni/tokenizer.js";
import { TokenizerTrainer } from "../../src/models/brainomni/train.js";

const steps = Number(process.argv[2] ?? 300);
// Phase-loss weight: 0 for the first `warmSteps` (its gradient ~1/|F(x̂)| swamps everything
// while the reconstruction is still near zero), then the official 0.5.
const warmSteps = Math.round(steps * 0.7);
const out = process.argv[3] ?? "models/brainomni-demo/braintokenizer-demo.safetensors";
await initBackend();
manualSeed(2026);
const tok = new BrainTokenizer(DEMO_TOKENIZER);
officialInit(tok, "fan-in");
const trainer = new TokenizerTrainer(tok, { steps, lr: 2e-3, emaInit: "scaled", phaseWeight: 0 });
const kinds = ["eeg", "meg", "mixed"] as const;
const t0 = Date.now();
for (let s = 0; s < steps; s++) {
  const sim = simulateBatch(rng(), { batch: 4, channels: 8 + rng().int(17), samples: 512, kind: kinds[s % 3]! });
  const { x, pos, sensorType } = simulatedTensors(sim);
  trainer.phaseWeight = s < warmSteps ? 0 : 0.5;
  const log = trainer.step({ x, pos, sensorType });
  tf.dispose([x, pos, sensorType]);
  if (s % 10 === 0 || s === steps - 1) {
    console.log(`step ${log.step} lr ${log.lr.toExponential(2)} loss ${log.loss.toFixed(4)} pcc ${log.pcc.toFixed(3)} time ${log.timeLoss.toFixed(3)} commit ${log.commitmentLoss.toFixed(4)} usage ${log.codebookUsage.map((u) => u.toFixed(2)).join("/")} (${((Date.now() - t0) / 1000).toFixed(0)} s, ${tf.memory().numTensors} tensors)`);
  }
}
tok.eval();
saveCheckpoint(tok, out, {
  description: "neurocode demonstration BrainTokenizer: trained on simulated signals only; not a scientific model",
  training: `${steps} steps (phase-loss weight 0 for the first ${warmSteps}, then 0.5) of TokenizerTrainer (official objective, 25% channel drop), batch 4, 8-24 channels, simulated EEG/MEG/mixed, lr 2e-3 warm-up cosine, AdamW (0.5, 0.9), Linear init std 1/sqrt(fan_in), k-means→EMA hand-over "scaled", seed 2026`,
});
console.log(`saved ${out}`);
