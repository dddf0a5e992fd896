/**
 * Makes examples/data/sample.edf: 60 s of synthetic EEG at 256 Hz, 8 channels
 * of the 10-20 system plus an EOG, EDF+C with "eyes open"/"eyes closed" and
 * "blink" annotations. Alpha (10 Hz) grows over the occipital/parietal
 * channels while the eyes are closed; beta (20 Hz) is frontal/central; blinks
 * show on Fp1/Fp2 and the EOG. Deterministic (seeded), so re-running it gives
 * the same bytes.
 *
 *   npx tsx examples/data/make_sample.ts [out.edf]
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRecording, utcTime, writeEdf, type Annotation } from "../../src/index.js";

const SFREQ = 256;
const SECONDS = 60;
const NAMES = ["Fp1", "Fp2", "C3", "C4", "O1", "O2", "Cz", "Pz", "EOG"];
/** Alpha and beta weight per channel (0..1). */
const ALPHA = [0.1, 0.1, 0.3, 0.3, 1, 1, 0.4, 0.8, 0];
const BETA = [0.6, 0.6, 1, 1, 0.2, 0.2, 0.8, 0.4, 0];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const closed: [number, number][] = [
  [10, 30],
  [40, 55],
];
const blinks = [2.5, 5.25, 7.75, 33, 36.5, 57];
const isClosed = (t: number): boolean => closed.some(([a, b]) => t >= a && t < b);

const rand = rng(20240517);
const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const n = SFREQ * SECONDS;
const rows = NAMES.map(() => new Float32Array(n));
const alphaPhase = NAMES.map(() => rand() * 2 * Math.PI);
const betaPhase = NAMES.map(() => rand() * 2 * Math.PI);
const brown = NAMES.map(() => 0);
for (let k = 0; k < n; k++) {
  const t = k / SFREQ;
  const alphaGain = isClosed(t) ? 30 : 6; // µV
  const blink = blinks.reduce((a, b) => a + Math.exp(-(((t - b) / 0.08) ** 2)), 0);
  NAMES.forEach((name, c) => {
    brown[c] = 0.995 * brown[c]! + gauss();
    let v = ALPHA[c]! * alphaGain * Math.sin(2 * Math.PI * 10 * t + alphaPhase[c]!);
    v += BETA[c]! * 4 * Math.sin(2 * Math.PI * 20 * t + betaPhase[c]!);
    v += 0.8 * brown[c]! + 2 * gauss();
    if (name === "EOG") v += 150 * blink;
    else if (name.startsWith("Fp")) v += 80 * blink;
    rows[c]![k] = v * 1e-6; // volts
  });
}

const annotations: Annotation[] = [
  { onset: 0, duration: 10, description: "eyes open" },
  { onset: 10, duration: 20, description: "eyes closed" },
  { onset: 30, duration: 10, description: "eyes open" },
  { onset: 40, duration: 15, description: "eyes closed" },
  { onset: 55, duration: 5, description: "eyes open" },
  ...blinks.map((b) => ({ onset: b - 0.125, duration: 0.25, description: "blink" })),
];

const rec = createRecording({
  data: rows,
  sfreq: SFREQ,
  channels: NAMES.map((name) => ({ name, kind: name === "EOG" ? ("eog" as const) : ("eeg" as const), unit: "V", origUnit: "uV" })),
  startTime: utcTime(2024, 5, 17, 9, 30, 0, 0.25),
  annotations,
  source: { path: "<sample>", format: "memory" },
});
const out = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "sample.edf");
writeEdf(out, rec, { patientId: "X X X Synthetic_sample", recordingInfo: "X X neurocode_make_sample.ts" });
process.stderr.write(`wrote ${out}\n`);
