import { ConfigError, ValueError } from "../../errors.js";
import { pick } from "../../recording/recording.js";
import type { Recording } from "../../recording/types.js";
import { fifChannelSensor, type FifHeader } from "../../io/fif/read.js";
import { brainOmniGroups, sensortypeWiseNormalize } from "../../signal/normalize.js";
import { filterRecording, notchFilter, resampleRecording } from "../../signal/recording-ops.js";
import { normalizePositions, sensorVectorsFromSensors, type PositionNormalisation, type SensorVectors } from "./sensors.js";

/** BrainOmni's sampling rate and band (`constant.py`). */
export const BRAINOMNI_SFREQ = 256;
export const BRAINOMNI_BAND: readonly [number, number] = [0.1, 96];

/** One step of a preprocessing recipe, as data (so a pipeline can print, store or edit it). */
export type PreprocessStep =
  | { op: "pick"; kinds: ("eeg" | "meg-mag" | "meg-grad")[] }
  | { op: "notch"; freqs: number[] }
  | { op: "resample"; sfreq: number }
  | { op: "filter"; lFreq: number | null; hFreq: number | null };

const PICK: PreprocessStep = { op: "pick", kinds: ["eeg", "meg-mag", "meg-grad"] };

/**
 * Pretraining order (`factory/utils.py::process`): notch at 50 and 60 Hz
 * (always both), resample to 256 Hz, then band-pass 0.1–96 Hz (MNE default
 * FIR everywhere). Bad-channel interpolation and cHPI removal are not part of
 * it here (they need a forward model); the segment normalisation follows in
 * `tokenizerInputs`.
 */
export const PRETRAINING_RECIPE: readonly PreprocessStep[] = Object.freeze([
  PICK,
  { op: "notch", freqs: [50, 60] },
  { op: "resample", sfreq: BRAINOMNI_SFREQ },
  { op: "filter", lFreq: BRAINOMNI_BAND[0], hFreq: BRAINOMNI_BAND[1] },
]);

/**
 * Downstream order (`downstream/dataset_maker/make_*.py`): notch at the local
 * line frequency only, band-pass 0.1–96 Hz at the original rate, then
 * resample to 256 Hz (filtering comes before resampling here).
 */
export function downstreamRecipe(lineFreq: 50 | 60): PreprocessStep[] {
  if (lineFreq !== 50 && lineFreq !== 60) throw new ConfigError("lineFreq", `must be 50 or 60, got ${String(lineFreq)}`);
  return [PICK, { op: "notch", freqs: [lineFreq] }, { op: "filter", lFreq: BRAINOMNI_BAND[0], hFreq: BRAINOMNI_BAND[1] }, { op: "resample", sfreq: BRAINOMNI_SFREQ }];
}

/** Applies recipe steps in order with neurocode's MNE-equal filters. Returns a new Recording. */
export function applyRecipe(rec: Recording, steps: readonly PreprocessStep[]): Recording {
  let r = rec;
  for (const s of steps) {
    switch (s.op) {
      case "pick": {
        const keep = r.channels.flatMap((c, i) => ((s.kinds as string[]).includes(c.kind) && !r.bads.includes(c.name) ? [i] : []));
        if (keep.length === 0) throw new ValueError(`no ${s.kinds.join("/")} channels to tokenize in ${r.source.path}`);
        r = pick(r, keep);
        break;
      }
      case "notch": {
        const nyq = r.sfreq / 2;
        const freqs = s.freqs.filter((f) => f < nyq);
        if (freqs.length) r = notchFilter(r, freqs);
        break;
      }
      case "resample":
        if (r.sfreq !== s.sfreq) r = resampleRecording(r, s.sfreq);
        break;
      case "filter":
        r = filterRecording(r, s.lFreq, s.hFreq);
        break;
    }
  }
  return r;
}

/** Tokenizer inputs for one recording: segments of normalised signal plus the sensor vectors. */
export interface TokenizerInputs {
  /** Per segment, C×T row-major float32 (group-normalised). */
  segments: Float32Array[];
  /** Start of each segment in seconds from the recording's first sample. */
  starts: number[];
  /** Samples per segment. */
  segmentSamples: number;
  /** Normalised sensor vectors and type ids (shared by every segment). */
  sensors: SensorVectors;
  channelNames: string[];
}

/** Options of `tokenizerInputs`. */
export interface TokenizerInputOptions {
  /** Segment length in seconds over which the group normalisation is computed and that forms one batch item (default 2). */
  segmentSeconds?: number;
  /** Position normalisation rule (default `pretraining`). */
  positions?: PositionNormalisation;
  /** Frame of MEG geometry for FIF recordings (default `device`, as the official preprocessing). */
  megFrame?: "device" | "head";
}

/**
 * Cuts a preprocessed 256-Hz recording into non-overlapping segments (a
 * trailing partial segment is dropped, as upstream), normalises each segment
 * by sensor group (`sensortype_wise_normalize`: common average and one std per
 * group, no per-channel z-score), and builds the 6-number sensor vectors.
 * Channels need sensor geometry (EEG positions from a montage, MEG from FIF).
 */
export function tokenizerInputs(rec: Recording, opts: TokenizerInputOptions = {}): TokenizerInputs {
  if (rec.sfreq !== BRAINOMNI_SFREQ) throw new ValueError(`BrainOmni expects ${BRAINOMNI_SFREQ} Hz; resample first (got ${rec.sfreq} Hz)`);
  const segSec = opts.segmentSeconds ?? 2;
  if (!(segSec > 0)) throw new ConfigError("segmentSeconds", `must be positive, got ${segSec}`);
  const T = Math.round(segSec * rec.sfreq);
  const C = rec.channels.length;
  const n = rec.data.shape[1]!;
  const sensors = recordingSensorVectors(rec, opts.positions, opts.megFrame);
  const groups = brainOmniGroups(rec.channels);
  const segments: Float32Array[] = [];
  const starts: number[] = [];
  const src = rec.data.data as Float32Array;
  const stride0 = rec.data.stride[0]!;
  const stride1 = rec.data.stride[1]!;
  for (let s0 = 0; s0 + T <= n; s0 += T) {
    const rows: Float32Array[] = [];
    for (let c = 0; c < C; c++) {
      const row = new Float32Array(T);
      for (let t = 0; t < T; t++) row[t] = src[rec.data.offset + c * stride0 + (s0 + t) * stride1]!;
      rows.push(row);
    }
    if (rows.some((r) => r.some((v) => !Number.isFinite(v)))) continue; // upstream rejects segments with NaN
    const norm = sensortypeWiseNormalize(rows, groups);
    const flat = new Float32Array(C * T);
    norm.forEach((r, c) => flat.set(r, c * T));
    segments.push(flat);
    starts.push(s0 / rec.sfreq);
  }
  return { segments, starts, segmentSamples: T, sensors, channelNames: rec.channels.map((c) => c.name) };
}

/**
 * Normalised 6-number sensor vectors and type ids of a recording's channels
 * (all need geometry). `megFrame: "device"` (default, faithful) takes MEG
 * geometry of FIF recordings in the device frame, as the official code reads
 * MNE's `loc`; neurocode's readers put sensors in the head frame, which after
 * centring differs by the device→head rotation.
 */
export function recordingSensorVectors(rec: Recording, mode: PositionNormalisation = "pretraining", megFrame: "device" | "head" = "device"): SensorVectors {
  const header = rec.source.format === "fif" ? (rec.source.header as FifHeader | undefined) : undefined;
  const byName = new Map(header?.info.channels.map((ch) => [ch.name, ch]) ?? []);
  const sensors = rec.channels.map((c) => {
    const raw = megFrame === "device" && (c.kind === "meg-mag" || c.kind === "meg-grad") ? byName.get(c.name) : undefined;
    return raw ? (fifChannelSensor(raw, null) ?? c.sensor) : c.sensor;
  });
  return normalizePositions(sensorVectorsFromSensors(sensors, rec.channels.map((c) => c.name)), mode);
}
