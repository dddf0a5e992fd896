import type { NdArray } from "ndarray";
import type { Sensor } from "../sensors/sensor.js";
import type { NeurocodeWarning } from "../warnings.js";
import type { UtcTime } from "./time.js";

/** What a channel measures, in MNE's vocabulary (MEG split by sensor type). */
export type ChannelKind =
  | "eeg"
  | "meg-mag"
  | "meg-grad"
  | "meg-ref"
  | "seeg"
  | "ecog"
  | "dbs"
  | "eog"
  | "ecg"
  | "emg"
  | "stim"
  | "resp"
  | "bio"
  | "temperature"
  | "misc";

export const CHANNEL_KINDS: readonly ChannelKind[] = [
  "eeg", "meg-mag", "meg-grad", "meg-ref", "seeg", "ecog", "dbs", "eog", "ecg", "emg", "stim", "resp", "bio", "temperature", "misc",
];

/** Kinds that carry brain signals (MNE's "data" channels). */
export const DATA_KINDS: ReadonlySet<ChannelKind> = new Set(["eeg", "meg-mag", "meg-grad", "seeg", "ecog", "dbs"]);

export interface ChannelInfo {
  /** Unique channel name. */
  name: string;
  kind: ChannelKind;
  /** SI unit of the values in `Recording.data` (`V`, `T`, `T/m`, or the file's own unit when it has no SI form). */
  unit: string;
  /** Unit string as written in the file (`uV`, `µV`, `mV`, FIF unit code text...). */
  origUnit: string;
  /** Geometry, when known. */
  sensor?: Sensor;
}

export interface Annotation {
  /** Seconds from the first sample of the recording (in true time: gaps count). */
  onset: number;
  /** Seconds, or `null` when the file gives none (distinct from 0). */
  duration: number | null;
  description: string;
  /** Channels the annotation applies to; absent means all. */
  channels?: string[];
}

/**
 * A contiguous stretch of samples. `data` holds segments back to back; gaps
 * between them are real (EDF+D) and show in `onset`, never as padding.
 */
export interface Segment {
  /** Index of the segment's first sample in `Recording.data`. */
  startSample: number;
  /** Number of samples in the segment. */
  nSamples: number;
  /** Seconds from the first sample of the recording to this segment's first sample. */
  onset: number;
}

export type FileFormat = "edf" | "bdf" | "fif" | "npy" | "memory";

export interface RecordingSource {
  /** Path of the file read, or `<memory>`. */
  path: string;
  format: FileFormat;
  /** Format-specific header as read (e.g. `EdfHeader`), for those who need it. */
  header?: unknown;
  /** Repairs the reader made and anything else worth knowing. */
  warnings: NeurocodeWarning[];
}

/**
 * A multichannel recording at one sampling rate, the object every reader
 * returns and every processing stage takes and returns.
 *
 * Invariant: `data` is `[nChannels, nSamples]` of float32 with a column stride
 * of 1, so each channel row is a contiguous `Float32Array` (`channelData`).
 * Values are in SI units (V, T, T/m), like MNE.
 */
export interface Recording {
  data: NdArray<Float32Array>;
  /** Sampling rate in Hz. */
  sfreq: number;
  /** FIF `first_samp` (acquisition sample index of `data[:, 0]`); 0 for EDF. */
  firstSample: number;
  /** UTC time of the first sample, or `null` when unknown or anonymised. */
  startTime: UtcTime | null;
  channels: ChannelInfo[];
  /** Names of bad channels. */
  bads: string[];
  annotations: Annotation[];
  segments: Segment[];
  source: RecordingSource;
  /** SSP projectors stored with the data (FIF); `active` ones were applied before writing. */
  projectors?: Projector[];
}

/** An SSP projector (FIF `FIFFB_PROJ_ITEM`, MNE's `Projection`). */
export interface Projector {
  description: string;
  /** `FIFFV_PROJ_ITEM_*` kind (1 field, 10 average EEG reference...). */
  kind: number;
  /** Whether the data were already projected when written. */
  active: boolean;
  /** Channel names of the vector columns. */
  channelNames: string[];
  /** Projection vectors, `[nVectors][channelNames.length]`. */
  vectors: number[][];
}
