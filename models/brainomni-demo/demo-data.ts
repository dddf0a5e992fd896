/**
 * The data of the bundled demonstration tokenizer: which `shared/data`
 * recordings it learns from, how each is split into a training part and a
 * held-out tail, how training batches are drawn, and the held-out evaluation
 * that its README reports and its test asserts.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../src/engine/random.js";
import { manualSeed, rng } from "../../src/engine/random.js";
import { ConfigError, ValueError } from "../../src/errors.js";
import { readFifEvoked, type FifEvokedHeader } from "../../src/io/fif/evoked.js";
import { readRecording } from "../../src/io/open.js";
import { meanPcc } from "../../src/models/brainomni/losses.js";
import { applyRecipe, BRAINOMNI_SFREQ, PRETRAINING_RECIPE, tokenizerInputs, type TokenizerInputs } from "../../src/models/brainomni/preprocess.js";
import { simulateBatch, simulatedTensors } from "../../src/models/brainomni/simulate.js";
import type { BrainTokenizer, TokenizerBatch } from "../../src/models/brainomni/tokenizer.js";
import { channelData, cropSamples, pick } from "../../src/recording/recording.js";
import type { ChannelKind, Recording } from "../../src/recording/types.js";

/** One recording of the demo's training data. */
export interface DemoFile {
  /** Path relative to `shared/data`. */
  rel: string;
  /** What it holds (for the README and logs). */
  what: string;
  /** Seconds at the end kept out of training (a whole number of 2-s windows). */
  heldOutSeconds: number;
  /** Held-out pool it is scored in, and the channel kinds scored there. */
  evaluation: { pool: Pool; kinds: ChannelKind[] };
}

/**
 * The training recordings: every file in `shared/data` that neurocode reads
 * as a continuous recording with EEG or MEG channels of known position and
 * at least one 2-s window before its held-out tail. (`test.bdf`, 1 s, and
 * the evoked `test-ave.fif.gz` are too short to train on and are held out
 * whole: `HELD_OUT_FILES`. Left out: `test.edf`, whose A1–H16 labels match
 * no montage; `test_subsecond.edf`, one electrode, whose position cannot be
 * normalised; `test_bin_raw.fif`, no electrode positions; the PSG, generator
 * and uneven-rate EDFs, bipolar or non-EEG signals.)
 */
export const DEMO_FILES: readonly DemoFile[] = Object.freeze([
  {
    rel: "external/mne-python/test_edf_stim_channel.edf",
    what: "clinical EEG, 19 placed 10-20 electrodes (REF_EEG has no position), 128 Hz, 9.6 s of which the last 4.1 s are constant (not recorded)",
    heldOutSeconds: 2,
    evaluation: { pool: "eeg", kinds: ["eeg"] },
  },
  {
    rel: "generated/neuromag_raw.fif",
    what: "Neuromag 306 MEG + 60 EEG with the geometry of MNE's sample data, 5 s of MNE-written synthetic signals (one sine of 3-39 Hz per channel plus noise), 600.6 Hz",
    heldOutSeconds: 2,
    evaluation: { pool: "synthetic", kinds: ["meg-mag", "meg-grad"] },
  },
]);

/** A demo recording preprocessed as `neurocode tokenize` does, split in time. */
export interface DemoRecording {
  file: DemoFile;
  /** 256-Hz samples before the held-out tail. */
  train: Recording;
  /** The last `heldOutSeconds`. */
  heldOut: Recording;
}

const BRAIN: ReadonlySet<ChannelKind> = new Set(["eeg", "meg-mag", "meg-grad"]);
/** Samples of one tokenizer window (2 s at 256 Hz). */
const WINDOW = 2 * BRAINOMNI_SFREQ;

/** Samples up to the last one where some channel still changes (a file may end in a constant stretch that was never recorded). */
function recordedSamples(rec: Recording): number {
  let last = 0;
  rec.channels.forEach((_, c) => {
    const x = channelData(rec, c);
    for (let t = x.length - 1; t > last; t--) {
      if (x[t] !== x[t - 1]) {
        last = t;
        break;
      }
    }
  });
  return last + 1;
}

/**
 * The channels of `kinds` that have a position (as `neurocode tokenize` keeps
 * them), up to the end of the recorded signal, each minus its mean, through
 * the pretraining recipe (notch 50+60 Hz, 256 Hz, 0.1–96 Hz). The mean
 * removal is the one step the recipe lacks: on a file of a few seconds whose
 * electrodes sit at 0.2 V offsets, the 33-s FIR high-pass cannot remove the
 * offset and leaves edge transients a thousand times the EEG; away from the
 * edges of a long file it changes nothing.
 */
function preprocess(rec: Recording, kinds: ReadonlySet<ChannelKind>): Recording {
  const placed = pick(rec, rec.channels.flatMap((c, i) => (kinds.has(c.kind) && c.sensor ? [i] : [])));
  const n = recordedSamples(placed);
  placed.channels.forEach((_, c) => {
    const x = channelData(placed, c);
    let sum = 0;
    for (let t = 0; t < n; t++) sum += x[t]!;
    const mean = sum / n;
    for (let t = 0; t < n; t++) x[t]! -= mean;
  });
  return applyRecipe(cropSamples(placed, 0, n), PRETRAINING_RECIPE);
}

/**
 * Reads `path` (the file `spec.rel` names), preprocesses its EEG/MEG channels
 * (`preprocess`), and splits off the held-out tail. The filters see the whole
 * span, so the training part's last samples carry a trace of the tail through
 * the filter kernels (not its samples).
 */
export function loadDemoRecording(path: string, spec: DemoFile): DemoRecording {
  const pre = preprocess(readRecording(path, { onWarning: () => {} }), BRAIN);
  const n = pre.data.shape[1]!;
  const held = Math.round(spec.heldOutSeconds * BRAINOMNI_SFREQ);
  if (n - held < WINDOW) throw new ValueError(`${path}: ${n} samples at 256 Hz leave no 2-s training window before a ${spec.heldOutSeconds}-s held-out tail`);
  return { file: spec, train: cropSamples(pre, 0, n - held), heldOut: cropSamples(pre, n - held, n) };
}

/** `shared/data` beside the project root (where the team's data lives). */
const SHARED_DATA = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared", "data");

/** Absolute path of a `shared/data` file; `ConfigError` naming every missing file of `DEMO_FILES` and `HELD_OUT_FILES` otherwise. */
function sharedDataPath(rel: string): string {
  const missing = [...DEMO_FILES, ...HELD_OUT_FILES].map((f) => join(SHARED_DATA, f.rel)).filter((p) => !existsSync(p));
  if (missing.length) throw new ConfigError("data", `the demo tokenizer's recordings are missing: ${missing.join(", ")} (expected shared/data beside the project root)`);
  return join(SHARED_DATA, rel);
}

/** Loads every file of `DEMO_FILES`; `locate` maps a `shared/data`-relative path to a file (default: beside the project root, failing loudly when one is missing). */
export function loadDemoFiles(locate: (rel: string) => string = sharedDataPath): DemoRecording[] {
  return DEMO_FILES.map((f) => loadDemoRecording(locate(f.rel), f));
}

/** Channel indices whose BrainOmni group (EEG, MAG, GRAD) has at least two members in `idx` (a lone channel normalises to zero). */
function withoutLoneGroups(rec: Recording, idx: number[]): number[] {
  const group = (i: number) => rec.channels[i]!.kind;
  const count = new Map<ChannelKind, number>();
  for (const i of idx) count.set(group(i), (count.get(group(i)) ?? 0) + 1);
  return idx.filter((i) => count.get(group(i))! >= 2);
}

/**
 * A training batch from a recording's training part: `batch` windows of 2 s
 * at random offsets, all over one random sensor subset (EEG only, MEG only or
 * both, 8–32 channels), cut and normalised by `tokenizerInputs` as if the file
 * held only those channels. The caller disposes the tensors.
 */
export function sampleRecordingBatch(rec: Recording, r: Rng, batch: number): TokenizerBatch {
  const kinds = [["eeg"], ["meg-mag", "meg-grad"], ["eeg", "meg-mag", "meg-grad"]][r.int(3)]!;
  let pool = rec.channels.flatMap((c, i) => (kinds.includes(c.kind) ? [i] : []));
  if (pool.length < 2) pool = rec.channels.map((_, i) => i);
  const k = Math.min(pool.length, 8 + r.int(25));
  const order = r.permutation(pool.length);
  const chosen = withoutLoneGroups(rec, Array.from(order.subarray(0, k), (j) => pool[j]!).sort((a, b) => a - b));
  const sub = pick(rec, chosen);
  const n = sub.data.shape[1]!;
  const C = chosen.length;
  const x = new Float32Array(batch * C * WINDOW);
  let sensors: TokenizerInputs["sensors"] | undefined;
  for (let b = 0; b < batch; b++) {
    const start = r.int(n - WINDOW + 1);
    const inputs = tokenizerInputs(cropSamples(sub, start, start + WINDOW));
    x.set(inputs.segments[0]!, b * C * WINDOW);
    sensors = inputs.sensors;
  }
  return inputsToBatch(x, batch, sensors!);
}

function inputsToBatch(x: Float32Array, B: number, s: TokenizerInputs["sensors"]): TokenizerBatch {
  const C = s.nChannels;
  return tf.tidy(() => ({
    x: tf.tensor3d(x, [B, C, x.length / (B * C)]),
    pos: tf.tile(tf.tensor3d(s.pos, [1, C, 6]), [B, 1, 1]),
    sensorType: tf.tile(tf.tensor2d(s.type, [1, C], "int32"), [B, 1]),
  }));
}

/** Held-out pools: real EEG, real MEG, and MEG sensors with synthetic signals. */
export type Pool = "eeg" | "meg" | "synthetic";

/** One held-out recording (or evoked response), cut and normalised as `neurocode tokenize` would. */
export interface HeldOutSet {
  name: string;
  pool: Pool;
  inputs: TokenizerInputs;
}

/**
 * Real recordings that training never sees, each scored whole (shorter than
 * a window: zero-padded as `neurocode tokenize --window` does, and scored on
 * the recorded samples only).
 */
export const HELD_OUT_FILES: readonly { rel: string; what: string }[] = Object.freeze([
  { rel: "external/mne-python/test.bdf", what: "BioSemi EEG, 64 electrodes + 2 mastoids with 10-05 labels, 2048 Hz, 1 s" },
  { rel: "external/mne-python/test-ave.fif.gz", what: "Neuromag 306 MEG evoked responses of MNE's sample data (4 conditions, averages of 3-6 trials), 0.7 s each" },
]);

/** `rec`'s channels of `kinds`, preprocessed (`preprocess`), as one segment (as long as the recording, at most 2 s). */
function wholeInputs(rec: Recording, kinds: readonly ChannelKind[]): TokenizerInputs {
  const pre = preprocess(rec, new Set(kinds));
  return tokenizerInputs(pre, { segmentSeconds: Math.min(pre.data.shape[1]!, WINDOW) / BRAINOMNI_SFREQ });
}

/**
 * Every held-out set: the tails of `recs` (restricted to the channel kinds of
 * their pool), and the files of `HELD_OUT_FILES` (`locate` as in
 * `loadDemoFiles`): the BDF's EEG, and each evoked response's MEG.
 */
export function heldOutSets(recs: readonly DemoRecording[], locate: (rel: string) => string = sharedDataPath): HeldOutSet[] {
  const out: HeldOutSet[] = recs.map((r) => {
    const { pool, kinds } = r.file.evaluation;
    return { name: `${r.file.rel} (last ${r.file.heldOutSeconds} s)`, pool, inputs: tokenizerInputs(pick(r.heldOut, r.heldOut.channels.flatMap((c, i) => (kinds.includes(c.kind) ? [i] : [])))) };
  });
  const [bdf, evoked] = HELD_OUT_FILES.map((f) => locate(f.rel)) as [string, string];
  out.push({ name: HELD_OUT_FILES[0]!.rel, pool: "eeg", inputs: wholeInputs(readRecording(bdf, { onWarning: () => {} }), ["eeg"]) });
  for (const e of readFifEvoked(evoked, { onWarning: () => {} })) {
    out.push({ name: `${HELD_OUT_FILES[1]!.rel} ${(e.source.header as FifEvokedHeader).comment}`, pool: "meg", inputs: wholeInputs(e, ["meg-mag", "meg-grad"]) });
  }
  return out;
}

/** Scores of one pool of held-out windows. */
export interface PoolScores {
  /** Windows scored. */
  windows: number;
  /** Mean per-channel, per-window Pearson correlation of reconstruction and (z-scored) input, all channels seen. */
  pcc: number;
  /** The same for the 25% of channels hidden from the encoder (reconstructed from their sensor embeddings), mean over draws. */
  droppedPcc: number;
}

/** What `evaluateDemo` reports (pools without sets score NaN). */
export interface DemoEvaluation {
  eeg: PoolScores;
  meg: PoolScores;
  synthetic: PoolScores;
  /** Held-out simulated EEG, MEG and mixed batches (seed 777, never used in training); absent with `simulated: false`. */
  simulated?: PoolScores;
  /** Per RVQ level, the fraction of its codes that the held-out windows scored use. */
  usage: number[];
  /** Scores of each real held-out set. */
  sets: (PoolScores & { name: string; pool: Pool })[];
}

const DROP_DRAWS = 3;

/** PCC of reconstruction and target over the first `valid` samples of each window (the rest is zero padding). */
function validPcc(xRec: tf.Tensor, target: tf.Tensor, valid: number, channels?: number): number {
  return tf.tidy(() => {
    const size = [-1, channels ?? -1, -1, valid];
    return meanPcc(tf.slice(xRec, [0, 0, 0, 0], size), tf.slice(target, [0, 0, 0, 0], size)).dataSync()[0]!;
  });
}

/** Scores one batch of windows with `valid` recorded samples each, adding the codes it uses to `used`. */
function scoreBatch(tok: BrainTokenizer, batch: TokenizerBatch, valid: number, used: Set<number>[]): { pcc: number; droppedPcc: number } {
  const [B, C] = batch.x.shape as [number, number, number];
  const r = tok.reconstruct(batch);
  const pcc = validPcc(r.xRec, r.target, valid);
  const codes = r.indices.dataSync();
  const Q = tok.cfg.numQuantizers;
  for (let j = 0; j < codes.length; j++) used[j % Q]!.add(codes[j]!);
  tf.dispose([r.xRec, r.target, r.indices, ...Object.values(r.losses)]);
  let dropped = 0;
  for (let d = 0; d < DROP_DRAWS; d++) {
    const draw = tok.drawChannelDrop(B, C, 1, rng());
    const out = tok.trainForward(batch, draw);
    dropped += validPcc(out.xRec, out.target, valid, draw.nMasked) / DROP_DRAWS;
    tf.dispose([draw.noise, out.xRec, out.target, out.indices, ...Object.values(out.losses)]);
  }
  return { pcc, droppedPcc: dropped };
}

/** Scores each batch (freeing it) and their window-weighted mean. */
function scorePool(tok: BrainTokenizer, batches: { batch: TokenizerBatch; valid: number }[], used: Set<number>[]): { mean: PoolScores; each: PoolScores[] } {
  const each = batches.map(({ batch, valid }) => {
    const windows = batch.x.shape[0]!;
    const s = scoreBatch(tok, batch, valid, used);
    tf.dispose([batch.x, batch.pos, batch.sensorType]);
    return { windows, ...s };
  });
  const windows = each.reduce((a, e) => a + e.windows, 0);
  const mean = (k: "pcc" | "droppedPcc") => each.reduce((a, e) => a + e[k] * e.windows, 0) / windows;
  return { mean: { windows, pcc: mean("pcc"), droppedPcc: mean("droppedPcc") }, each };
}

/**
 * Held-out evaluation of a tokenizer (put in evaluation mode; the global
 * random stream is re-seeded, so the channel drops are the same for every
 * model): reconstruction correlation per pool of `sets`, on all channels and
 * on channels hidden from the encoder, on simulated batches (unless
 * `simulated: false`), and codebook usage over everything scored.
 */
export function evaluateDemo(tok: BrainTokenizer, sets: readonly HeldOutSet[], opts: { simulated?: boolean } = {}): DemoEvaluation {
  tok.eval();
  manualSeed(777);
  const used = Array.from({ length: tok.cfg.numQuantizers }, () => new Set<number>());
  const scored: DemoEvaluation["sets"] = [];
  const pool = (p: Pool): PoolScores => {
    const mine = sets.filter((s) => s.pool === p);
    const { mean, each } = scorePool(tok, mine.map(({ inputs: i }) => ({ batch: inputsToBatch(concat(i.segments), i.segments.length, i.sensors), valid: i.segmentSamples })), used);
    each.forEach((e, k) => scored.push({ ...e, name: mine[k]!.name, pool: p }));
    return mean;
  };
  const [eeg, meg, synthetic] = [pool("eeg"), pool("meg"), pool("synthetic")] as [PoolScores, PoolScores, PoolScores];
  const usage = () => used.map((s) => s.size / tok.cfg.codebookSize);
  if (opts.simulated === false) return { eeg, meg, synthetic, usage: usage(), sets: scored };
  const sims = (["eeg", "meg", "mixed"] as const).map((kind) => ({ batch: simulatedTensors(simulateBatch(rng(), { batch: 4, channels: 16, samples: WINDOW, kind })), valid: WINDOW }));
  const simulated = scorePool(tok, sims, used).mean;
  return { eeg, meg, synthetic, simulated, usage: usage(), sets: scored };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
