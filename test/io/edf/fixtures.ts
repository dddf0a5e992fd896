/**
 * Deterministic recordings that neurocode writes and MNE reads back
 * (test/reference/edf_goldens.py stores what MNE saw; writer.test.ts
 * re-writes them and checks the bytes and values still match).
 */
import ndarray from "ndarray";
import { createRecording } from "../../../src/recording/recording.js";
import { utcTime } from "../../../src/recording/time.js";
import type { Recording } from "../../../src/recording/types.js";

/** mulberry32: a tiny seeded generator, so fixtures are the same on every machine. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function signals(nc: number, ns: number, sfreq: number, seed: number, ampV: number): Float32Array {
  const rnd = seeded(seed);
  const buf = new Float32Array(nc * ns);
  for (let c = 0; c < nc; c++) {
    const f = 3 + 2.5 * c;
    for (let k = 0; k < ns; k++) buf[c * ns + k] = ampV * (Math.sin((2 * Math.PI * f * k) / sfreq) + 0.3 * (rnd() - 0.5));
  }
  return buf;
}

/** EDF+C, 4 EEG/EOG channels at 256 Hz, 5 s, sub-second start, annotations with and without duration, one channel-specific. */
export function continuousFixture(): Recording {
  const nc = 4;
  const ns = 1280;
  return createRecording({
    data: ndarray(signals(nc, ns, 256, 1, 50e-6), [nc, ns]),
    sfreq: 256,
    channels: ["EEG Fp1", "EEG Fp2", "EEG Cz", "EOG left"].map((name) => ({ name, kind: name.startsWith("EOG") ? "eog" : "eeg", unit: "V", origUnit: "uV" })),
    startTime: utcTime(2021, 3, 14, 15, 9, 26, 0.5358979),
    annotations: [
      { onset: 0.25, duration: 1.5, description: "eyes closed" },
      { onset: 1.75, duration: null, description: "eyes open" },
      { onset: 2.125, duration: 0, description: "blink" },
      { onset: 3, duration: 0.5, description: "spike", channels: ["EEG Cz"] },
    ],
    source: { path: "<fixture>", format: "memory" },
  });
}

/** BDF+C, 3 channels at 512 Hz incl. a Status stim channel with codes, 2 s. */
export function bdfFixture(): Recording {
  const ns = 1024;
  const buf = new Float32Array(3 * ns);
  buf.set(signals(2, ns, 512, 2, 200e-6));
  for (let k = 0; k < ns; k++) buf[2 * ns + k] = k % 256 < 8 ? 65280 + ((k >> 8) & 7) : 65280;
  return createRecording({
    data: ndarray(buf, [3, ns]),
    sfreq: 512,
    channels: [
      { name: "C3", kind: "eeg", unit: "V", origUnit: "uV" },
      { name: "C4", kind: "eeg", unit: "V", origUnit: "uV" },
      { name: "Status", kind: "stim", unit: "", origUnit: "Boolean" },
    ],
    startTime: utcTime(2019, 11, 2, 8, 30, 0, 0.25),
    annotations: [{ onset: 0.5, duration: 0.25, description: "stimulus" }],
    source: { path: "<fixture>", format: "memory" },
  });
}

/**
 * EDF+D: two 2 s segments at 128 Hz with a 3.5 s gap between them. MNE
 * (#13429) reads the records back to back, so it places the second segment
 * at 2 s; its true onset is 5.5 s.
 */
export function discontinuousFixture(): Recording {
  const ns = 512;
  return createRecording({
    data: ndarray(signals(2, ns, 128, 3, 20e-6), [2, ns]),
    sfreq: 128,
    channels: [
      { name: "EEG O1", kind: "eeg", unit: "V", origUnit: "uV" },
      { name: "EEG O2", kind: "eeg", unit: "V", origUnit: "uV" },
    ],
    startTime: utcTime(2022, 6, 1, 23, 59, 58, 0),
    annotations: [
      { onset: 1, duration: null, description: "before gap" },
      { onset: 6, duration: 1, description: "after gap" },
    ],
    segments: [
      { startSample: 0, nSamples: 256, onset: 0 },
      { startSample: 256, nSamples: 256, onset: 5.5 },
    ],
    source: { path: "<fixture>", format: "memory" },
  });
}

export const WRITTEN_FIXTURES: { file: string; make: () => Recording }[] = [
  { file: "written_continuous.edf", make: continuousFixture },
  { file: "written_status.bdf", make: bdfFixture },
  { file: "written_discontinuous.edf", make: discontinuousFixture },
];
