/**
 * Read a recording, clean it, and plot the power spectrum of each EEG channel
 * with eyes open and eyes closed (alpha, 8–12 Hz, rises with the eyes closed).
 *
 *   npx tsx examples/psd.ts [recording.edf] [out.svg]
 *
 * Prints one JSON object: per channel, alpha power eyes-closed / eyes-open.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  bandPower,
  channelData,
  epochsFromAnnotations,
  filterRecording,
  linePlotSvg,
  notchFilter,
  pick,
  readRecording,
  welch,
  type Psd,
} from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const input = process.argv[2] ?? join(here, "data", "sample.edf");
const output = process.argv[3] ?? join(here, "..", "out", "psd.svg");

const raw = pick(readRecording(input), "eeg");
const clean = filterRecording(notchFilter(raw, [50]), 1, 45); // Hz, MNE's default FIR

/** Mean Welch PSD (2-s segments) of one channel over all epochs with this description. */
function conditionPsd(description: string, channel: number): Psd {
  const { windows } = epochsFromAnnotations(clean, { match: [description] });
  const psds = windows.map((w) => welch(channelData(clean, channel).subarray(w.start, w.stop), clean.sfreq, { nperseg: 2 * clean.sfreq }));
  const mean = new Float64Array(psds[0]!.psd.length);
  for (const p of psds) p.psd.forEach((v, i) => (mean[i]! += v / psds.length));
  return { freqs: psds[0]!.freqs, psd: mean };
}

const ratios: Record<string, number> = {};
const series = clean.channels.flatMap((c, i) => {
  const open = conditionPsd("eyes open", i);
  const closed = conditionPsd("eyes closed", i);
  ratios[c.name] = bandPower(closed, 8, 12) / bandPower(open, 8, 12);
  return c.name.startsWith("O") ? [{ label: `${c.name} closed`, x: closed.freqs, y: closed.psd }, { label: `${c.name} open`, x: open.freqs, y: open.psd }] : [];
});
writeFileSync(output, linePlotSvg(series, { title: `PSD, ${input.split("/").pop()}`, xLabel: "frequency (Hz)", yLabel: "V²/Hz", logY: true, xRange: [0, 45] }));
console.log(JSON.stringify({ plot: output, alphaClosedOverOpen: ratios }));
