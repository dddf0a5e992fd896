/**
 * Scores tokenizer checkpoints on the demo's held-out data (real EEG and MEG
 * tails of the shared/data files, hidden channels, simulated batches, codebook
 * usage), next to an untrained model of the demo architecture.
 * Run: npx tsx models/brainomni-demo/evaluate-demo.ts [checkpoint.safetensors ...]
 * (default: the bundled checkpoint).
 */
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { bundledTokenizerPath, loadTokenizer } from "../../src/models/brainomni/checkpoint.js";
import { DEMO_TOKENIZER } from "../../src/models/brainomni/config.js";
import { BrainTokenizer, officialInit } from "../../src/models/brainomni/tokenizer.js";
import { evaluateDemo, heldOutSets, loadDemoFiles, type DemoEvaluation, type PoolScores } from "./demo-data.js";

await initBackend();
const heldOut = heldOutSets(loadDemoFiles());
for (const s of heldOut) console.log(`held out (${s.pool}): ${s.name}, ${s.inputs.segments.length} × ${s.inputs.sensors.nChannels} channels × ${s.inputs.segmentSamples} samples`);
const f = (x: number) => x.toFixed(3);
const line = (name: string, p: PoolScores) => `  ${name} (${p.windows} windows): pcc ${f(p.pcc)}, hidden channels ${f(p.droppedPcc)}`;
const show = (name: string, e: DemoEvaluation) => {
  console.log([name, line("real EEG", e.eeg), line("real MEG", e.meg), line("MEG sensors, synthetic signals", e.synthetic), line("simulated", e.simulated!), `  codebook usage per level: ${e.usage.map(f).join(" / ")}`, ...e.sets.map((s) => `    ${s.name}: pcc ${f(s.pcc)}, hidden channels ${f(s.droppedPcc)}`)].join("\n"));
};
manualSeed(1);
const fresh = new BrainTokenizer(DEMO_TOKENIZER);
officialInit(fresh, "fan-in");
show("untrained (seed 1, fan-in init)", evaluateDemo(fresh, heldOut));
fresh.dispose();
for (const path of process.argv.length > 2 ? process.argv.slice(2) : [bundledTokenizerPath()]) {
  const t0 = Date.now();
  const tok = loadTokenizer(path);
  show(`${path} (${((Date.now() - t0) / 1000).toFixed(1)} s load)`, evaluateDemo(tok, heldOut));
  tok.dispose();
}
