import ndarray from "ndarray";
import { ValueError } from "../../errors.js";
import { createRecording } from "../../recording/recording.js";
import { addSeconds } from "../../recording/time.js";
import type { Annotation, ChannelInfo, ChannelKind, Recording } from "../../recording/types.js";
import { megCoilInfo } from "../../sensors/coil-types.js";
import { sensorFromFifLoc } from "../../sensors/fif-sensor.js";
import type { Sensor } from "../../sensors/sensor.js";
import { collectWarnings, printWarning, type WarningHandler } from "../../warnings.js";
import type { ReadOptions } from "../open.js";
import { FIFF_UNIT_NAMES, FIFFV_CH } from "./constants.js";
import type { FifChannel, FifInfo } from "./info.js";
import { closeFifRaw, fifDecodeArena, fifPicks, openFifRaw, readFifSamples, readFifTreeAndInfo, type FifRawFile } from "./raw.js";
import { openFifSource } from "./source.js";

/** What a FIF Recording keeps in `source.header`: the info as read (for the writer), first_samp and the split parts. */
export interface FifHeader {
  info: FifInfo;
  firstSample: number;
  paths: string[];
}

const KIND_BY_FIFF: ReadonlyMap<number, ChannelKind> = new Map([
  [FIFFV_CH.EEG, "eeg"],
  [FIFFV_CH.STIM, "stim"],
  [FIFFV_CH.BIO, "bio"],
  [FIFFV_CH.EOG, "eog"],
  [FIFFV_CH.REF_MEG, "meg-ref"],
  [FIFFV_CH.EMG, "emg"],
  [FIFFV_CH.ECG, "ecg"],
  [FIFFV_CH.MISC, "misc"],
  [FIFFV_CH.RESP, "resp"],
  [FIFFV_CH.SEEG, "seeg"],
  [FIFFV_CH.DBS, "dbs"],
  [FIFFV_CH.ECOG, "ecog"],
  [FIFFV_CH.TEMPERATURE, "temperature"],
]);

/** `FIFF_UNIT_T_M`: the unit of gradiometers. */
const UNIT_T_M = 201;

/**
 * The neurocode channel kind of a FIF channel. MEG channels are split into
 * magnetometers and gradiometers by coil type (`MEG_COIL_TYPES`); a MEG coil
 * type missing from the table falls back to the unit (T/m → gradiometer), as
 * MNE decides.
 */
export function fifChannelKind(ch: FifChannel): ChannelKind {
  if (ch.kind === FIFFV_CH.MEG) {
    const info = megCoilInfo(ch.coilType);
    if (info) return info.measures === "mag" ? "meg-mag" : "meg-grad";
    return ch.unit === UNIT_T_M ? "meg-grad" : "meg-mag";
  }
  return KIND_BY_FIFF.get(ch.kind) ?? "misc";
}

const PREFIX: Readonly<Record<number, string>> = { [-15]: "f", [-12]: "p", [-9]: "n", [-6]: "µ", [-3]: "m", 0: "", 3: "k", 6: "M", 9: "G" };

function unitName(code: number): string {
  return FIFF_UNIT_NAMES[code] ?? `unit ${code}`;
}

/**
 * The sensor of a FIF channel: MEG from `loc` moved to the head frame by
 * `devHeadT` (pass `null` to keep the device frame, which is what BrainOmni's
 * official preprocessing feeds its model), electrodes from `loc[0:3]`.
 */
export function fifChannelSensor(ch: FifChannel, devHeadT: FifInfo["devHeadT"]): Sensor | undefined {
  const kind = fifChannelKind(ch);
  const modality = kind === "meg-mag" || kind === "meg-grad" ? "meg" : kind === "eeg" || kind === "seeg" || kind === "ecog" ? kind : null;
  return modality ? sensorFromFifLoc({ modality, coilType: ch.coilType, loc: ch.loc }, devHeadT) : undefined;
}

/** A FIF channel as a Recording channel: kind, SI unit, the unit as stored, sensor in the head frame. */
export function fifChannelInfo(ch: FifChannel, info: FifInfo): ChannelInfo {
  const unit = unitName(ch.unit);
  const prefix = PREFIX[ch.unitMul] ?? `1e${ch.unitMul} `;
  const sensor = fifChannelSensor(ch, info.devHeadT);
  return { name: ch.name, kind: fifChannelKind(ch), unit, origUnit: `${prefix}${unit}`, ...(sensor ? { sensor } : {}) };
}

/** Annotations relative to the first sample, as MNE's `raw.annotations` are relative to `first_time`. */
function recordingAnnotations(raw: FifRawFile): Annotation[] {
  const { info, firstSample } = raw;
  const out: Annotation[] = [];
  const a = raw.annotations;
  const measSeconds = info.measDate ? info.measDate[0] + info.measDate[1] / 1e6 : null;
  const firstTime = firstSample / info.sfreq;
  if (a) {
    // Stored onsets are relative to orig_time (or, with no meas_date, include first_samp): see MNE's _read_raw_file.
    const shift = measSeconds === null ? -firstTime : a.origTime === null ? 0 : a.origTime - measSeconds - firstTime;
    a.onset.forEach((onset, i) => {
      const chans = a.channels?.[i];
      out.push({ onset: onset + shift, duration: a.duration[i]!, description: a.description[i]!, ...(chans && chans.length ? { channels: chans } : {}) });
    });
  }
  for (const b of raw.buffers) {
    if (b.entry === null) out.push({ onset: b.start / info.sfreq, duration: b.nSamples / info.sfreq, description: "BAD_ACQ_SKIP" });
  }
  return out.sort((x, y) => x.onset - y.onset);
}

/** Float32 elements a whole-file read may allocate (2^31, 8 GiB). */
const MAX_LOAD = 2 ** 31;

/** Duplicate names get running numbers (`name-0`, `name-1`), as MNE renames them, with a warning. */
function uniqueNames(channels: ChannelInfo[], path: string, onWarning: WarningHandler): ChannelInfo[] {
  const count = new Map<string, number>();
  for (const c of channels) count.set(c.name, (count.get(c.name) ?? 0) + 1);
  const dups = [...count].filter(([, n]) => n > 1).map(([name]) => name);
  if (dups.length === 0) return channels;
  onWarning({ code: "fif.duplicate-names", path, message: `duplicate channel names (${dups.join(", ")}) renamed with running numbers` });
  const next = new Map<string, number>();
  return channels.map((c) => {
    if ((count.get(c.name) ?? 0) < 2) return c;
    const k = next.get(c.name) ?? 0;
    next.set(c.name, k + 1);
    return { ...c, name: `${c.name}-${k}` };
  });
}

/**
 * Reads a raw FIF file (`.fif`, `.fif.gz`, with split parts) into a
 * Recording: data in SI units (stored × range × cal), MNE channel kinds,
 * sensors in the head frame, bads, annotations (plus `BAD_ACQ_SKIP` for data
 * skips), projectors (not applied). `opts.channels` reads only those channels.
 */
export function readFif(path: string, opts: ReadOptions = {}): Recording {
  const warnings = collectWarnings(opts.onWarning ?? printWarning);
  const raw = openFifRaw(path, { onWarning: warnings.handler });
  try {
    const { info } = raw;
    const picks = fifPicks(info, opts.channels, path);
    const ns = raw.nSamples;
    if (picks.length * ns > MAX_LOAD) {
      throw new ValueError(`${path}: ${picks.length} channels × ${ns} samples is too large to load at once; read ranges with openFifRaw/readFifSamples`);
    }
    const buf = new Float32Array(picks.length * ns);
    const rows = picks.map((_, k) => buf.subarray(k * ns, (k + 1) * ns));
    // All channels in file order: float32 buffers decode with SIMD, one buffer at a time staged through an arena.
    const simd = fifDecodeArena(raw, picks);
    simd?.arena.reserve(simd.scratchBytes / 4, simd.scratchBytes, info.nchan);
    readFifSamples(raw, 0, ns, rows, picks, 0, simd?.arena);
    const channels = uniqueNames(picks.map((i) => fifChannelInfo(info.channels[i]!, info)), path, warnings.handler);
    const names = new Set(channels.map((c) => c.name));
    const header: FifHeader = { info, firstSample: raw.firstSample, paths: raw.paths };
    const rec = createRecording({
      data: ndarray(buf, [picks.length, ns]),
      sfreq: info.sfreq,
      channels,
      firstSample: raw.firstSample,
      startTime: info.measDate ? addSeconds({ unixSeconds: info.measDate[0], fraction: 0 }, info.measDate[1] / 1e6 + raw.firstSample / info.sfreq) : null,
      bads: info.bads.filter((b) => names.has(b)),
      annotations: recordingAnnotations(raw),
      source: { path, format: "fif", header, warnings: warnings.list },
    });
    rec.projectors = info.projectors;
    return rec;
  } finally {
    closeFifRaw(raw);
  }
}

/**
 * The measurement info of any FIF file (raw, evoked, epochs...), without
 * reading data: channels, bads, dev_head_t, projectors, CTF compensation.
 */
export function readFifInfo(path: string, opts: ReadOptions = {}): FifInfo {
  const src = openFifSource(path);
  try {
    return readFifTreeAndInfo(src, opts.onWarning ?? printWarning).info;
  } finally {
    src.close();
  }
}
