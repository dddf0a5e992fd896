/**
 * Fine-tune a small eyes-open / eyes-closed classifier from the bundled
 * BrainOmni demo tokenizer on labelled windows, and compare it with the same
 * network trained from a random initialisation.
 *
 *   npx tsx examples/finetune_classifier.ts [recording.edf] [tokenizer.safetensors]
 *
 * Prints one JSON object with the validation metrics of both runs.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  arrayDataset,
  encoderFromCheckpoint,
  evaluateClassifier,
  filterRecording,
  finetuneClassifier,
  gatherWindows,
  initBackend,
  manualSeed,
  pick,
  planWindows,
  readRecording,
  resampleRecording,
  splitDataset,
} from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const input = process.argv[2] ?? join(here, "data", "sample.edf");
const checkpoint = process.argv[3] ?? join(here, "..", "models", "brainomni-demo", "braintokenizer-demo.safetensors");
await initBackend();

// Labelled 2-s windows at the tokenizer's 256 Hz.
const rec = resampleRecording(filterRecording(pick(readRecording(input), "eeg"), 0.5, 40), 256);
const windows = planWindows(rec, { length: 2, stride: 1, last: "drop", annotations: { "eyes open": "open", "eyes closed": "closed" } });
const T = 512;
const classes = ["open", "closed"];
const x = gatherWindows(windows, rec.channels.length, T);
const y = Int32Array.from(windows, (w) => classes.indexOf(w.mappedLabel!));

const results: Record<string, unknown> = {};
for (const pretrained of [true, false]) {
  manualSeed(7);
  const enc = encoderFromCheckpoint(checkpoint, rec.channels, rec.sfreq, { pretrained });
  const xs = x.slice();
  enc.prepare(xs, T);
  const { train, validation } = splitDataset(arrayDataset(xs, [rec.channels.length, T], y), 0.3, 1);
  const { model } = finetuneClassifier({ encoder: enc.encoder, nClasses: 2, train, validation, freezeEncoder: true, epochs: 12, batchSize: 8, lr: 0.05, seed: 1 });
  results[pretrained ? "pretrained" : "fromScratch"] = evaluateClassifier(model, validation);
}
console.log(JSON.stringify({ windows: windows.length, ...results }));
