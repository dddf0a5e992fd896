/**
 * Tokenize a recording with the bundled BrainOmni demo tokenizer and count,
 * per annotation label, how often each first-level code occurs: a quick look
 * at whether the codes follow the brain state.
 *
 *   npx tsx examples/tokenize_counts.ts [recording.edf] [tokenizer.safetensors]
 *
 * Prints one JSON object: windows per label, the most frequent codes per
 * label, and the total-variation distance between the labels' code histograms.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend, loadTokenizer, pick, readRecording, tokenizeRecording } from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const input = process.argv[2] ?? join(here, "data", "sample.edf");
const checkpoint = process.argv[3] ?? join(here, "..", "models", "brainomni-demo", "braintokenizer-demo.safetensors");

await initBackend();
const tokenizer = loadTokenizer(checkpoint);
const rec = pick(readRecording(input), "eeg"); // EEG channels get standard 10-05 positions from their labels
const codes = tokenizeRecording(tokenizer, rec); // pretraining preprocessing, 2-s segments

/** The annotation (of those given) covering a time, if any. */
const labelAt = (t: number): string | undefined =>
  rec.annotations.find((a) => ["eyes open", "eyes closed"].includes(a.description) && t >= a.onset && t < a.onset + (a.duration ?? 0))?.description;

const K = tokenizer.cfg.codebookSize;
const hist = new Map<string, Float64Array>();
const windows: Record<string, number> = {};
for (const seg of codes.segments) {
  const label = labelAt(seg.startTime + 1); // the segment's middle
  if (!label) continue;
  windows[label] = (windows[label] ?? 0) + 1;
  const h = hist.get(label) ?? new Float64Array(K);
  for (let i = 0; i < seg.codes.length; i += codes.nQuantizers) h[seg.codes[i]!]! += 1; // level-0 code of each (source, frame)
  hist.set(label, h);
}
const normalised = new Map([...hist].map(([l, h]) => [l, h.map((v) => v / h.reduce((a, b) => a + b, 0))]));
const top = Object.fromEntries([...normalised].map(([l, p]) => [l, [...p.keys()].sort((a, b) => p[b]! - p[a]!).slice(0, 5)]));
const [pa, pb] = [normalised.get("eyes open"), normalised.get("eyes closed")];
const tvDistance = pa && pb ? 0.5 * pa.reduce((s, v, i) => s + Math.abs(v - pb[i]!), 0) : null;
console.log(JSON.stringify({ windows, topCodes: top, tvDistance, sources: codes.nSources, framesPerSegment: codes.nFrames, quantizers: codes.nQuantizers }));
