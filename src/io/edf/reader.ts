/**
 * EDF/EDF+/BDF/BDF+ reading. `openEdf` reads the header alone and keeps the
 * file open; samples are read on demand with positioned reads, a few MB of
 * records at a time into one reused buffer, and decoded straight into the
 * caller's float32 rows, so a file larger than memory can be windowed and a
 * whole-file read holds only its float32 result plus that buffer.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import ndarray from "ndarray";
import { ConfigError, FormatError, ValueError } from "../../errors.js";
import { createRecording } from "../../recording/recording.js";
import { addSeconds, type UtcTime } from "../../recording/time.js";
import type { Annotation, ChannelInfo, Recording, Segment } from "../../recording/types.js";
import { collectWarnings, printWarning, type NeurocodeWarning, type WarningHandler } from "../../warnings.js";
import type { ReadOptions } from "../open.js";
import { inferKind, uniqueLabels, unitToSi } from "./channels.js";
import { addDecimal, decimalOf, decimalToNumber, parseDecimal, subDecimal, type Decimal } from "./decimal.js";
import { FIXED_HEADER_BYTES, parseHeader, signalCount, type EdfHeader } from "./header.js";
import { decodeRecordsJs, edfDecoder } from "./decode.js";
import { parseTals } from "./tal.js";

/** Bytes of records read per `readSync` (one buffer, reused). */
export const CHUNK_BYTES = 4 << 20;

/** Record onsets closer than this to the expected time count as contiguous (EDF+ stamps carry ~7 decimals). */
const GAP_TOLERANCE_S = 1e-6;

/** Bits of a Status/Trigger channel that carry codes (MNE masks stim channels with 2**17 - 1; `readDigital` keeps all bits). */
const STIM_MASK = 2 ** 17 - 1;

/** Largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** What the annotation signals say: record time stamps and annotations, onsets already relative to the first sample. */
export interface EdfTimeline {
  /** Onset of the first record in the file's own time (the sub-second start, usually), exact. */
  firstRecordOnset: Decimal;
  /** Runs of contiguous records: first record index, record count, seconds from the first sample. */
  recordRuns: { firstRecord: number; nRecords: number; onset: number }[];
  /** Annotations sorted by onset (stable), channel suffixes not yet split. */
  annotations: Annotation[];
}

/** An open EDF/BDF file. Call `close()` when done (readEdf does). */
export interface EdfFile {
  readonly path: string;
  readonly header: EdfHeader;
  /** Unique names of all signals (annotation signals keep their label), as MNE makes them. */
  readonly names: readonly string[];
  /** Indices of the signals that carry samples (not annotations). */
  readonly dataSignals: readonly number[];
  /** Repairs made so far (header repairs on open; more after reading annotations). */
  readonly warnings: readonly NeurocodeWarning[];
  /** Sampling rate of signal `i` in Hz (`samplesPerRecord / recordDuration`; a 0 s duration counts as 1 s). */
  sfreq(i: number): number;
  /** Samples of signal `i` in the file. */
  nSamples(i: number): number;
  /** Factor from the file's physical unit of signal `i` to SI, and the SI unit. */
  unit(i: number): { scale: number; unit: string };
  /**
   * Samples `[start, stop)` of each listed signal, in SI units (V for
   * uV/mV/V; Status/Trigger channels as digital codes masked to their low
   * 17 bits, like MNE). All listed signals must share one rate;
   * indices count samples at that rate from the first record (gaps of
   * EDF+D not counted). Writes into `out` rows when given.
   */
  readRange(signals: readonly number[], start: number, stop: number, out?: Float32Array[]): Float32Array[];
  /** All samples of signal `i` in SI units. */
  signal(i: number): Float32Array;
  /** Digital (integer) samples `[start, stop)` of signal `i`, exactly as stored. */
  readDigital(i: number, start: number, stop: number): Int32Array;
  /** Time stamps and annotations (read from the annotation signals on first use, then kept). */
  timeline(): EdfTimeline;
  /** UTC time of the first sample with the sub-second part of the first time stamp, or null. */
  startTime(): UtcTime | null;
  close(): void;
}

export interface OpenEdfOptions {
  /** Called for each repair (default: print to stderr). */
  onWarning?: WarningHandler;
}

function isStim(label: string): boolean {
  return inferKind(label) === "stim";
}

/** Opens an EDF/BDF file and reads its header (the samples stay on disk until asked for). */
export function openEdf(path: string, opts: OpenEdfOptions = {}): EdfFile {
  const { list: warnings, handler: warn } = collectWarnings(opts.onWarning ?? printWarning);
  let fd: number | null = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const fixed = readExact(fd, path, 0, Math.min(FIXED_HEADER_BYTES, size), "header");
    const ns = signalCount(fixed, path, size);
    const header = parseHeader(readExact(fd, path, 0, FIXED_HEADER_BYTES * (ns + 1), "header"), path, size, warn);
    return makeFile(path, fd, header, warnings, warn);
  } catch (e) {
    closeSync(fd);
    fd = null;
    throw e;
  }
}

function readExact(fd: number, path: string, position: number, length: number, field: string, into?: Uint8Array): Uint8Array {
  const buf = into ?? new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new FormatError({ path, field, offset: position + got }, `file ended after ${position + got} bytes (needed ${position + length})`);
    got += n;
  }
  return buf;
}

function makeFile(path: string, fdIn: number, header: EdfHeader, warnings: NeurocodeWarning[], warn: WarningHandler): EdfFile {
  let fd: number | null = fdIn;
  const { signals, recordBytes, headerBytes, nRecords, bytesPerSample } = header;
  const dataSignals = signals.flatMap((s, i) => (s.isAnnotation ? [] : [i]));
  // Only data signals need unique names (files with several annotation signals repeat `EDF Annotations`).
  const unique = uniqueLabels(
    dataSignals.map((i) => signals[i]!.label),
    warn,
    path,
  );
  const names = signals.map((s) => s.label);
  dataSignals.forEach((i, k) => (names[i] = unique[k]!));
  const annotationSignals = signals.flatMap((s, i) => (s.isAnnotation ? [i] : []));
  const duration = header.recordDuration > 0 ? header.recordDuration : 1;
  const fullScale = bytesPerSample === 2 ? 2 ** 15 : 2 ** 23;
  for (const i of dataSignals) {
    const s = signals[i]!;
    if (!Number.isFinite(s.samplesPerRecord / duration)) {
      throw new FormatError({ path, field: "header.recordDuration", offset: 244 }, `record duration ${header.recordDuration} s gives signal ${i} an infinite sampling rate`);
    }
    // Every value a sample can decode to must fit float32 (the Recording's type), or it would read as Infinity.
    if ((fullScale + Math.abs(s.offset)) * Math.abs(s.gain) * unitToSi(s.physicalDimension).scale > FLOAT32_MAX) {
      throw new FormatError({ path, field: `signals[${i}].physicalMax`, offset: 256 + signals.length * 112 + 8 * i }, `physical range [${s.physicalMin}, ${s.physicalMax}] decodes beyond the float32 range`);
    }
  }
  if (header.recordDuration === 0 && dataSignals.length > 0) {
    warn({ code: "edf.zero-record-duration", message: "header.recordDuration is 0 but the file has data signals; using 1 s per record (as MNE does)", path });
  }
  let chunk: Uint8Array | null = null;
  let timeline: EdfTimeline | null = null;
  const span = annotationSpan(header, annotationSignals);
  const spanBytes = span ? span.hi - span.lo : 0;
  // A read of all records keeps each record's annotation bytes on the way, so the timeline needs no second pass over the file.
  let collected: Uint8Array | null = null;

  const openFd = (): number => {
    if (fd === null) throw new ValueError(`${path}: the EDF file is closed`);
    return fd;
  };
  const checkSignal = (i: number): void => {
    if (!Number.isInteger(i) || i < 0 || i >= signals.length) throw new ValueError(`signal index ${i} out of range [0, ${signals.length})`);
    if (signals[i]!.isAnnotation) throw new ValueError(`signal ${i} (${signals[i]!.label}) holds annotations, not samples`);
  };
  const unit = (i: number): { scale: number; unit: string } => (isStim(signals[i]!.label) ? { scale: 1, unit: "" } : unitToSi(signals[i]!.physicalDimension));

  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / recordBytes));
  /**
   * Calls `fn` for consecutive runs of records `[r0, r1)`, each read into
   * `into` (at least one run long) or else this file's own chunk buffer.
   */
  const forEachChunk = (r0: number, r1: number, fn: (buf: Uint8Array, first: number, count: number) => void, into?: Uint8Array): void => {
    const want = Math.min(perChunk, r1 - r0) * recordBytes;
    // The buffer is aligned for Int16Array views (records start at even offsets in EDF).
    if (!into && (!chunk || chunk.length < want)) chunk = new Uint8Array(new ArrayBuffer(want));
    const buffer = into ?? chunk!;
    for (let r = r0; r < r1; r += perChunk) {
      const count = Math.min(perChunk, r1 - r);
      const buf = readExact(openFd(), path, headerBytes + r * recordBytes, count * recordBytes, `records[${r}]`, buffer.subarray(0, count * recordBytes));
      fn(buf, r, count);
    }
  };

  const file: EdfFile = {
    path,
    header,
    names,
    dataSignals,
    warnings,
    sfreq: (i) => signals[i]!.samplesPerRecord / duration,
    nSamples: (i) => signals[i]!.samplesPerRecord * nRecords,
    unit,
    readRange(sel, start, stop, out) {
      sel.forEach(checkSignal);
      if (sel.length === 0) return [];
      const spr = signals[sel[0]!]!.samplesPerRecord;
      for (const i of sel) {
        if (signals[i]!.samplesPerRecord !== spr) throw new ValueError(`readRange: signals ${sel[0]} and ${i} have different rates (${file.sfreq(sel[0]!)} and ${file.sfreq(i)} Hz); read them separately`);
      }
      const total = spr * nRecords;
      if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop > total || stop < start) {
        throw new ValueError(`sample range [${start}, ${stop}) is not within [0, ${total})`);
      }
      const rows = out ?? sel.map(() => new Float32Array(stop - start));
      rows.forEach((r, k) => {
        if (r.length < stop - start) throw new ValueError(`readRange: output row ${k} has ${r.length} samples, needs ${stop - start}`);
      });
      if (stop === start) return rows;
      const r0 = Math.floor(start / spr);
      const r1 = Math.ceil(stop / spr);
      const scales = sel.map((i) => {
        const s = signals[i]!;
        const u = unit(i).scale;
        // Stim channels carry codes: digital values as they are (MNE: cal 1, offset 0).
        return isStim(s.label) ? [1, 0] : [s.gain * u, s.offset];
      });
      const collect = span !== null && timeline === null && r0 === 0 && r1 === nRecords;
      if (collect) collected = new Uint8Array(nRecords * spanBytes);
      // Records are read into the SIMD decoder's memory when there is one (it then decodes them in place).
      const arena = edfDecoder();
      const recs = Math.min(perChunk, r1 - r0);
      const into = arena?.reserve(recs * recordBytes, recs * spr);
      forEachChunk(
        r0,
        r1,
        (buf, first, count) => {
          if (collect) {
            for (let r = first; r < first + count; r++) {
              const at = (r - first) * recordBytes;
              collected!.set(buf.subarray(at + span.lo, at + span.hi), r * spanBytes);
            }
          }
          for (let k = 0; k < sel.length; k++) {
            const row = rows[k]!;
            const [scale, offset] = scales[k]!;
            for (let r = first; r < first + count; ) {
              const a = Math.max(start, r * spr) - r * spr;
              const b = Math.min(stop, (r + 1) * spr) - r * spr;
              // Whole records run together; only the range's first and last can be partial.
              let next = r + 1;
              if (a === 0 && b === spr) while (next < first + count && (next + 1) * spr <= stop) next++;
              const o = r * spr + a - start;
              const at = (r - first) * recordBytes + header.signalOffsets[sel[k]!]!;
              if (!arena?.decode(buf, at, recordBytes, next - r, a, b, bytesPerSample, offset!, scale!, row, o)) decodeRecordsJs(buf, at, recordBytes, next - r, a, b, bytesPerSample, offset!, scale!, row, o);
              r = next;
            }
          }
        },
        into,
      );
      // Trigger codes live in the low 17 bits; BioSemi's system bits above them are masked off as MNE does.
      sel.forEach((i, k) => {
        if (!isStim(signals[i]!.label)) return;
        const row = rows[k]!;
        for (let j = 0; j < stop - start; j++) row[j] = row[j]! & STIM_MASK;
      });
      return rows;
    },
    signal(i) {
      checkSignal(i);
      return file.readRange([i], 0, file.nSamples(i))[0]!;
    },
    readDigital(i, start, stop) {
      checkSignal(i);
      const spr = signals[i]!.samplesPerRecord;
      if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop > spr * nRecords || stop < start) {
        throw new ValueError(`sample range [${start}, ${stop}) is not within [0, ${spr * nRecords})`);
      }
      const out = new Int32Array(stop - start);
      if (stop === start) return out;
      forEachChunk(Math.floor(start / spr), Math.ceil(stop / spr), (buf, first, count) => {
        for (let r = first; r < first + count; r++) {
          const a = Math.max(start, r * spr) - r * spr;
          const b = Math.min(stop, (r + 1) * spr) - r * spr;
          const base = (r - first) * recordBytes + header.signalOffsets[i]!;
          for (let j = a; j < b; j++) {
            const p = base + j * bytesPerSample;
            out[r * spr + j - start] = bytesPerSample === 2 ? ((buf[p]! | (buf[p + 1]! << 8)) << 16) >> 16 : ((buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16)) << 8) >> 8;
          }
        }
      });
      return out;
    },
    timeline() {
      if (timeline) return timeline;
      const kept = collected;
      let one: Uint8Array | null = null;
      const spanOf = kept
        ? (r: number) => kept.subarray(r * spanBytes, (r + 1) * spanBytes)
        : (r: number) => readExact(openFd(), path, headerBytes + r * recordBytes + span!.lo, spanBytes, `records[${r}].annotations`, (one ??= new Uint8Array(spanBytes)));
      timeline = readTimeline(path, header, annotationSignals, warn, spanOf);
      collected = null;
      return timeline;
    },
    startTime() {
      if (!header.startTime) return null;
      const t = addSeconds(header.startTime, decimalToNumber(file.timeline().firstRecordOnset));
      // Beyond ±8.64e12 s a JavaScript Date (and ISO 8601 output) cannot represent the time.
      if (!(Math.abs(t.unixSeconds) <= 8.64e12)) {
        warn({ code: "edf.starttime-invalid", message: `the first record's time stamp puts the start out of range; start time unknown`, path });
        return null;
      }
      return t;
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
      chunk = null;
    },
  };
  return file;
}

/** Where the annotation signals sit in a record: the byte range `[lo, hi)` covering all of them, or null when there are none. */
function annotationSpan(header: EdfHeader, annSignals: number[]): { lo: number; hi: number } | null {
  if (annSignals.length === 0) return null;
  const { signals, signalOffsets, bytesPerSample } = header;
  return {
    lo: Math.min(...annSignals.map((i) => signalOffsets[i]!)),
    hi: Math.max(...annSignals.map((i) => signalOffsets[i]! + signals[i]!.samplesPerRecord * bytesPerSample)),
  };
}

/**
 * Parses the TALs of every record (`spanOf(r)` gives record r's annotation
 * bytes, `[lo, hi)` of `annotationSpan`) and derives record time stamps, runs
 * of contiguous records and annotations relative to the first sample.
 */
function readTimeline(path: string, header: EdfHeader, annSignals: number[], warnAll: WarningHandler, spanOf: (r: number) => Uint8Array): EdfTimeline {
  const { nRecords, signals, bytesPerSample, signalOffsets } = header;
  // A damaged annotation signal can repeat one problem in every record: say each kind 3 times, then count.
  const counts = new Map<string, number>();
  const warn: WarningHandler = (w) => {
    const n = (counts.get(w.code) ?? 0) + 1;
    counts.set(w.code, n);
    if (n <= 3) warnAll(w);
  };
  const zero: Decimal = { n: 0n, scale: 0 };
  const duration = parseDecimal(header.recordDurationText) ?? decimalOf(header.recordDuration);
  const stamps: (Decimal | null)[] = new Array<Decimal | null>(nRecords).fill(null);
  const raw: { onset: Decimal; duration: number | null; description: string }[] = [];
  const span = annotationSpan(header, annSignals);
  if (span && nRecords > 0) {
    for (let r = 0; r < nRecords; r++) {
      const buf = spanOf(r);
      annSignals.forEach((sig, k) => {
        const start = signalOffsets[sig]! - span.lo;
        const tals = parseTals(buf.subarray(start, start + signals[sig]!.samplesPerRecord * bytesPerSample), warn, path);
        tals.forEach((tal, t) => {
          if (!Number.isFinite(decimalToNumber(tal.onset)) || (tal.duration !== null && !Number.isFinite(tal.duration))) {
            warn({ code: "edf.tal-invalid", message: `record ${r}: TAL onset/duration out of range skipped`, path });
            return;
          }
          let texts = tal.texts;
          // The first TAL of a record in the first annotation signal is its time stamp.
          if (k === 0 && t === 0 && texts[0] === "") {
            stamps[r] = tal.onset;
            texts = texts.slice(1);
          }
          for (const description of texts) if (description !== "") raw.push({ onset: tal.onset, duration: tal.duration, description });
        });
      });
    }
  }
  for (const [code, n] of counts) {
    if (n > 3) warnAll({ code, message: `${n - 3} more like the above`, path });
  }
  const missing = stamps.filter((s) => s === null).length;
  if (header.plus && missing > 0 && nRecords > 0) {
    warn({ code: "edf.timekeeping-missing", message: `${missing} of ${nRecords} records have no time-keeping TAL; assumed contiguous with the record before`, path });
  }
  const first = stamps[0] ?? zero;
  const recordRuns: EdfTimeline["recordRuns"] = [];
  let expected = first;
  let mismatchReported = false;
  for (let r = 0; r < nRecords; r++) {
    const stamp = stamps[r] ?? expected;
    const diff = subDecimal(stamp, expected);
    const jump = diff.n === 0n ? 0 : decimalToNumber(diff);
    const last = recordRuns[recordRuns.length - 1];
    if (!last || (header.discontinuous && jump > GAP_TOLERANCE_S)) {
      recordRuns.push({ firstRecord: r, nRecords: 1, onset: decimalToNumber(subDecimal(stamp, first)) });
      expected = addDecimal(stamp, duration);
      continue;
    }
    if (Math.abs(jump) > GAP_TOLERANCE_S && !mismatchReported) {
      mismatchReported = true;
      warn({
        code: header.discontinuous ? "edf.records-overlap" : "edf.timekeeping-gap-in-continuous",
        message: `record ${r} is stamped ${jump > 0 ? `${jump} s after` : `${-jump} s before`} the end of the record before${header.discontinuous ? " (overlap)" : ", but the file says EDF+C"}; treated as contiguous`,
        path,
      });
    }
    last.nRecords++;
    expected = addDecimal(expected, duration);
  }
  const annotations: Annotation[] = raw.map((a) => ({ onset: decimalToNumber(subDecimal(a.onset, first)), duration: a.duration, description: a.description }));
  // Stable sort: real files store annotations out of order.
  annotations.sort((a, b) => a.onset - b.onset);
  return { firstRecordOnset: first, recordRuns, annotations };
}

/**
 * Splits MNE's channel-specific form `text@@CHANNEL` (only when CHANNEL is
 * a channel of the file) and merges annotations that differ only in their
 * channel into one with several channels, as MNE's reader does.
 */
function splitChannelAnnotations(annotations: Annotation[], names: ReadonlySet<string>): Annotation[] {
  const out: Annotation[] = [];
  const byKey = new Map<string, Annotation>();
  for (const a of annotations) {
    const at = a.description.lastIndexOf("@@");
    const ch = at >= 0 ? a.description.slice(at + 2) : "";
    if (at < 0 || !names.has(ch)) {
      out.push(a);
      continue;
    }
    const description = a.description.slice(0, at);
    const key = JSON.stringify([a.onset, a.duration, description]);
    const seen = byKey.get(key);
    if (seen) {
      if (!seen.channels!.includes(ch)) seen.channels!.push(ch);
      continue;
    }
    const b: Annotation = { onset: a.onset, duration: a.duration, description, channels: [ch] };
    byKey.set(key, b);
    out.push(b);
  }
  return out;
}

/** Signals `readEdf` turns into channels: by name (`channels`), then by rate (`rate`); one rate must remain. */
export function chooseSignals(f: EdfFile, opts: ReadOptions): number[] {
  let chosen = [...f.dataSignals];
  if (opts.channels && opts.channels.length > 0) {
    const byName = new Map(f.dataSignals.map((i) => [f.names[i]!, i]));
    const unknown = opts.channels.filter((c) => !byName.has(c));
    if (unknown.length) {
      throw new ConfigError("channels", `${f.path}: no channel ${unknown.map((u) => JSON.stringify(u)).join(", ")} (have: ${f.dataSignals.map((i) => f.names[i]).join(", ")})`);
    }
    const twice = opts.channels.filter((c, k) => opts.channels!.indexOf(c) !== k);
    if (twice.length) throw new ConfigError("channels", `${f.path}: channel ${twice.map((u) => JSON.stringify(u)).join(", ")} listed more than once`);
    chosen = opts.channels.map((c) => byName.get(c)!);
  }
  const rateList = (idx: number[]): string => {
    const counts = new Map<number, number>();
    for (const i of idx) counts.set(f.sfreq(i), (counts.get(f.sfreq(i)) ?? 0) + 1);
    return [...counts].map(([r, n]) => `${r} Hz (${n} signal${n > 1 ? "s" : ""})`).join(", ");
  };
  if (opts.rate !== undefined) {
    const rate = opts.rate;
    const at = chosen.filter((i) => Math.abs(f.sfreq(i) - rate) <= 1e-9 * rate);
    if (at.length === 0) throw new ConfigError("rate", `${f.path}: no signal at ${rate} Hz; rates present: ${rateList(chosen)}`);
    return at;
  }
  const rates = new Set(chosen.map((i) => f.sfreq(i)));
  if (rates.size > 1) {
    throw new ConfigError("rate", `${f.path}: signals have different sampling rates: ${rateList(chosen)}; choose one with the rate option (--rate), or read signals one by one with openEdf(...).signal(i)`);
  }
  return chosen;
}

/**
 * Reads an EDF/EDF+/BDF/BDF+ file into a Recording: float32 data in SI
 * units (V for uV/µV/mV/V; other units as they are, original unit in
 * `origUnit`), channel kinds from label prefixes (`inferKind`), annotations
 * from all annotation signals sorted by onset (seconds from the first
 * sample), the start time with its sub-second part, and EDF+D gaps as
 * separate segments with their true onsets.
 *
 * Files whose signals have different rates need `rate` (or `channels` that
 * share one rate); otherwise a `ConfigError` lists the rates present.
 * Annotation-only files (no data signals, e.g. hypnograms) give a Recording
 * with zero channels, zero samples, a nominal `sfreq` of 1 Hz, and the
 * annotations.
 */
export function readEdf(path: string, opts: ReadOptions = {}): Recording {
  const f = openEdf(path, { onWarning: opts.onWarning });
  try {
    const allNames = new Set(f.dataSignals.map((i) => f.names[i]!));
    if (f.dataSignals.length === 0) {
      if (opts.channels?.length) throw new ConfigError("channels", `${path}: the file has no data channels, only annotations`);
      const tl = f.timeline();
      return createRecording({
        data: ndarray(new Float32Array(0), [0, 0]),
        sfreq: 1,
        channels: [],
        startTime: f.startTime(),
        annotations: splitChannelAnnotations(tl.annotations, allNames),
        segments: [{ startSample: 0, nSamples: 0, onset: 0 }],
        source: { path, format: f.header.format, header: f.header, warnings: [...f.warnings] },
      });
    }
    const chosen = chooseSignals(f, opts);
    const sig0 = chosen[0]!;
    const ns = f.nSamples(sig0);
    const spr = f.header.signals[sig0]!.samplesPerRecord;
    const buf = new Float32Array(chosen.length * ns);
    f.readRange(
      chosen,
      0,
      ns,
      chosen.map((_, k) => buf.subarray(k * ns, (k + 1) * ns)),
    );
    const channels: ChannelInfo[] = chosen.map((i) => {
      const s = f.header.signals[i]!;
      return { name: f.names[i]!, kind: inferKind(s.label), unit: f.unit(i).unit, origUnit: s.physicalDimension };
    });
    const tl = f.timeline();
    const kept = new Set(channels.map((c) => c.name));
    // As `pick` does: channel-specific annotations keep only read channels, and go when none is left.
    const annotations = splitChannelAnnotations(tl.annotations, allNames).flatMap((a) => {
      if (!a.channels) return [a];
      const on = a.channels.filter((c) => kept.has(c));
      return on.length ? [{ ...a, channels: on }] : [];
    });
    const segments: Segment[] = tl.recordRuns.map((run) => ({ startSample: run.firstRecord * spr, nSamples: run.nRecords * spr, onset: run.onset }));
    return createRecording({
      data: ndarray(buf, [chosen.length, ns]),
      sfreq: f.sfreq(sig0),
      channels,
      startTime: f.startTime(),
      annotations,
      segments: segments.length ? segments : [{ startSample: 0, nSamples: 0, onset: 0 }],
      source: { path, format: f.header.format, header: f.header, warnings: [...f.warnings] },
    });
  } finally {
    f.close();
  }
}
