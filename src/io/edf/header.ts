/**
 * The EDF/BDF header: 256 bytes of general fields, then 256 bytes per signal
 * stored field-major (all labels, then all transducers...). Decoded as
 * latin-1 (BioSemi's 0xFF and `µV` as 0xB5 are common), numbers tolerant of
 * NUL padding and decimal commas, as MNE and edfio are. What cannot be read
 * is a `FormatError` naming the field and its byte offset.
 */
import { FormatError } from "../../errors.js";
import { utcTime, type UtcTime } from "../../recording/time.js";
import type { WarningHandler } from "../../warnings.js";

/** One signal's header fields, parsed, plus its scaling. */
export interface EdfSignalHeader {
  label: string;
  transducer: string;
  /** Physical dimension exactly as written (`uV`, `µV`, `mV`, `DegC`, ``...). */
  physicalDimension: string;
  physicalMin: number;
  physicalMax: number;
  digitalMin: number;
  digitalMax: number;
  prefiltering: string;
  samplesPerRecord: number;
  reserved: string;
  /** `EDF Annotations` / `BDF Annotations`: bytes of TALs, not samples. */
  isAnnotation: boolean;
  /** Physical value = (digital + offset) · gain, in `physicalDimension` units (edfio/EDFlib form). */
  gain: number;
  offset: number;
}

/** EDF+ local patient identification subfields (`_` turned back into spaces; `X` = unknown). */
export interface EdfPatient {
  code: string;
  sex: string;
  birthdate: string;
  name: string;
  additional: string;
}

/** EDF+ local recording identification subfields. */
export interface EdfRecordingInfo {
  /** `dd-MMM-yyyy`, or `X` when anonymised. */
  startdate: string;
  admincode: string;
  technician: string;
  equipment: string;
  additional: string;
}

export interface EdfHeader {
  format: "edf" | "bdf";
  /** EDF+/BDF+ (reserved field starts with `EDF+` or `BDF+`). */
  plus: boolean;
  /** EDF+D/BDF+D: records may have gaps between them. */
  discontinuous: boolean;
  /** Raw general fields, trimmed. */
  version: string;
  patientId: string;
  recordingId: string;
  startDateField: string;
  startTimeField: string;
  reserved: string;
  /** Parsed EDF+ subfields (null when the field is not EDF+-structured). */
  patient: EdfPatient | null;
  recording: EdfRecordingInfo | null;
  /** Start of the first record to the whole second (sub-second part is in the first time-keeping TAL), or null when unknown/anonymised. */
  startTime: UtcTime | null;
  /** Bytes before the first record (256 · (ns + 1)). */
  headerBytes: number;
  /** Records the reader uses (after repairs). */
  nRecords: number;
  /** The number as the header states it (-1 = unknown). */
  nRecordsInHeader: number;
  /** Seconds per record as the header states it (0 in annotation-only files). */
  recordDuration: number;
  /** The duration field text, for exact time arithmetic. */
  recordDurationText: string;
  signals: EdfSignalHeader[];
  /** 2 (EDF) or 3 (BDF). */
  bytesPerSample: 2 | 3;
  /** Bytes of one data record. */
  recordBytes: number;
  /** Byte offset of each signal inside a record. */
  signalOffsets: number[];
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/** Per-signal fields: name, width in bytes. */
const SIGNAL_FIELDS = [
  ["label", 16],
  ["transducer", 80],
  ["physicalDimension", 8],
  ["physicalMin", 8],
  ["physicalMax", 8],
  ["digitalMin", 8],
  ["digitalMax", 8],
  ["prefiltering", 80],
  ["samplesPerRecord", 8],
  ["reserved", 32],
] as const;

/** Largest signal count accepted: beyond it the header alone would be > 25 MB, which no real file has. */
const MAX_SIGNALS = 100_000;

function latin1(bytes: Uint8Array, start: number, len: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, len).toString("latin1");
}

/** Text of a field: cut at the first NUL (some writers pad with NUL), spaces trimmed. */
function fieldText(bytes: Uint8Array, start: number, len: number): string {
  const s = latin1(bytes, start, len);
  const z = s.indexOf("\0");
  return (z >= 0 ? s.slice(0, z) : s).trim();
}

const NUM_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

interface Ctx {
  path: string;
  warn: WarningHandler;
}

/** Parses a numeric field; a decimal comma is repaired with a warning; anything else is a FormatError. */
function numberField(ctx: Ctx, text: string, field: string, offset: number): number {
  let t = text;
  if (t.includes(",") && !t.includes(".")) {
    t = t.replace(",", ".");
    if (NUM_RE.test(t)) ctx.warn({ code: "edf.decimal-comma", message: `${field} "${text}" uses a decimal comma; read as ${t}`, path: ctx.path });
  }
  const v = NUM_RE.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(v)) throw new FormatError({ path: ctx.path, field, offset }, `not a number: ${JSON.stringify(text)}`);
  return v;
}

function integerField(ctx: Ctx, text: string, field: string, offset: number): number {
  const v = numberField(ctx, text, field, offset);
  if (!Number.isInteger(v)) throw new FormatError({ path: ctx.path, field, offset }, `not an integer: ${JSON.stringify(text)}`);
  return v;
}

/** `dd.mm.yy` with the 1985 rule (85–99 → 19yy, 00–84 → 20yy); null when not a valid date. */
export function parseLegacyDate(text: string): { year: number; month: number; day: number } | null {
  const m = /^(\d{1,2})[.:'\-/ ](\d{1,2})[.:'\-/ ](\d{2})$/.exec(text);
  if (!m) return null;
  const yy = Number(m[3]);
  return validDate(yy >= 85 ? 1900 + yy : 2000 + yy, Number(m[2]), Number(m[1]));
}

/** `hh.mm.ss`; null when not a valid time of day. */
export function parseLegacyTime(text: string): { hour: number; minute: number; second: number } | null {
  const m = /^(\d{1,2})[.:'\-/ ](\d{1,2})[.:'\-/ ](\d{1,2})$/.exec(text);
  if (!m) return null;
  const [hour, minute, second] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return hour < 24 && minute < 60 && second < 60 ? { hour, minute, second } : null;
}

/** EDF+ `dd-MMM-yyyy` (month names case-insensitive); null when not a valid date. */
export function parsePlusDate(text: string): { year: number; month: number; day: number } | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!.toUpperCase()) + 1;
  return month > 0 ? validDate(Number(m[3]), month, Number(m[1])) : null;
}

function validDate(year: number, month: number, day: number): { year: number; month: number; day: number } | null {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day ? { year, month, day } : null;
}

/** `dd-MMM-yyyy` of a calendar date (EDF+ form). */
export function formatPlusDate(year: number, month: number, day: number): string {
  return `${String(day).padStart(2, "0")}-${MONTHS[month - 1]}-${year}`;
}

const unspace = (s: string | undefined): string => (s ?? "X").replace(/_/g, " ");

function parsePatient(text: string): EdfPatient | null {
  const t = text.split(/ +/).filter((s) => s !== "");
  if (t.length < 4) return null;
  return { code: unspace(t[0]), sex: t[1]!, birthdate: t[2]!, name: unspace(t[3]), additional: t.slice(4).map(unspace).join(" ") };
}

function parseRecordingInfo(text: string): EdfRecordingInfo | null {
  const t = text.split(/ +/).filter((s) => s !== "");
  if (t[0] !== "Startdate" || t.length < 5) return null;
  return { startdate: t[1]!, admincode: unspace(t[2]), technician: unspace(t[3]), equipment: unspace(t[4]), additional: t.slice(5).map(unspace).join(" ") };
}

/** Bytes of the fixed part of the header. */
export const FIXED_HEADER_BYTES = 256;

/** Reads the signal count from the first 256 bytes (to know how much more header to read). */
export function signalCount(fixed: Uint8Array, path: string, fileSize: number): number {
  const ctx: Ctx = { path, warn: () => {} };
  if (fixed.length < FIXED_HEADER_BYTES) throw new FormatError({ path, field: "header", offset: 0 }, `file has ${fileSize} bytes; an EDF/BDF header needs at least 256`);
  const ns = integerField(ctx, fieldText(fixed, 252, 4), "header.nSignals", 252);
  if (ns < 1 || ns > MAX_SIGNALS) throw new FormatError({ path, field: "header.nSignals", offset: 252 }, `${ns} signals is not a valid count`);
  const need = FIXED_HEADER_BYTES * (ns + 1);
  if (need > fileSize) throw new FormatError({ path, field: "header.signals", offset: 256 }, `header of ${ns} signals needs ${need} bytes, file has ${fileSize}`);
  return ns;
}

/**
 * Parses the whole header (`bytes` = the first 256 · (ns + 1) bytes).
 * `fileSize` is used to check and repair the record count.
 */
export function parseHeader(bytes: Uint8Array, path: string, fileSize: number, warn: WarningHandler): EdfHeader {
  const ctx: Ctx = { path, warn };
  const ns = signalCount(bytes, path, fileSize);
  const headerBytes = FIXED_HEADER_BYTES * (ns + 1);
  if (bytes.length < headerBytes) throw new FormatError({ path, field: "header.signals", offset: bytes.length }, "truncated header");

  let format: "edf" | "bdf";
  const version = latin1(bytes, 0, 8);
  if (bytes[0] === 0xff && version.slice(1, 8) === "BIOSEMI") format = "bdf";
  else if (fieldText(bytes, 0, 8) === "0") format = "edf";
  else throw new FormatError({ path, field: "header.version", offset: 0 }, `not an EDF or BDF file (version field ${JSON.stringify(version)})`);
  const bytesPerSample = format === "bdf" ? 3 : 2;

  const patientId = fieldText(bytes, 8, 80);
  const recordingId = fieldText(bytes, 88, 80);
  const startDateField = fieldText(bytes, 168, 8);
  const startTimeField = fieldText(bytes, 176, 8);
  const reserved = fieldText(bytes, 192, 44);
  const plus = /^(EDF|BDF)\+[CD]/.test(reserved);
  const discontinuous = /^(EDF|BDF)\+D/.test(reserved);

  const headerBytesText = fieldText(bytes, 184, 8);
  if (!NUM_RE.test(headerBytesText) || Number(headerBytesText) !== headerBytes) {
    warn({ code: "edf.header-bytes", message: `header.headerBytes says ${JSON.stringify(headerBytesText)}, but ${ns} signals make ${headerBytes}; using ${headerBytes}`, path });
  }
  const nRecordsInHeader = integerField(ctx, fieldText(bytes, 236, 8), "header.nRecords", 236);
  const recordDurationText = fieldText(bytes, 244, 8).replace(",", ".");
  const recordDuration = numberField(ctx, fieldText(bytes, 244, 8), "header.recordDuration", 244);
  if (recordDuration < 0) throw new FormatError({ path, field: "header.recordDuration", offset: 244 }, `negative record duration ${recordDuration}`);

  const signals = parseSignals(bytes, ns, ctx);
  const signalOffsets: number[] = [];
  let recordBytes = 0;
  for (const s of signals) {
    signalOffsets.push(recordBytes);
    recordBytes += s.samplesPerRecord * bytesPerSample;
  }
  const nRecords = repairRecordCount(ctx, nRecordsInHeader, recordBytes, fileSize - headerBytes);

  const patient = plus ? parsePatient(patientId) : null;
  const recording = plus ? parseRecordingInfo(recordingId) : null;
  return {
    format,
    plus,
    discontinuous,
    version: format === "bdf" ? "\xffBIOSEMI" : "0",
    patientId,
    recordingId,
    startDateField,
    startTimeField,
    reserved,
    patient,
    recording,
    startTime: parseStart(ctx, startDateField, startTimeField, recordingId),
    headerBytes,
    nRecords,
    nRecordsInHeader,
    recordDuration,
    recordDurationText,
    signals,
    bytesPerSample,
    recordBytes,
    signalOffsets,
  };
}

function parseSignals(bytes: Uint8Array, ns: number, ctx: Ctx): EdfSignalHeader[] {
  const texts: Record<string, string[]> = {};
  const offsets: Record<string, number> = {};
  let off = FIXED_HEADER_BYTES;
  for (const [name, width] of SIGNAL_FIELDS) {
    offsets[name] = off;
    texts[name] = Array.from({ length: ns }, (_, i) => fieldText(bytes, off + i * width, width));
    off += ns * width;
  }
  const widthOf = Object.fromEntries(SIGNAL_FIELDS) as Record<string, number>;
  const at = (name: string, i: number): [string, string, number] => [texts[name]![i]!, `signals[${i}].${name}`, offsets[name]! + i * widthOf[name]!];
  const signals: EdfSignalHeader[] = [];
  for (let i = 0; i < ns; i++) {
    const label = texts.label![i]!;
    const isAnnotation = label === "EDF Annotations" || label === "BDF Annotations";
    const samplesPerRecord = integerField(ctx, ...at("samplesPerRecord", i));
    if (samplesPerRecord < 1) throw new FormatError({ path: ctx.path, field: `signals[${i}].samplesPerRecord`, offset: at("samplesPerRecord", i)[2] }, `must be at least 1, got ${samplesPerRecord}`);
    const s: EdfSignalHeader = {
      label,
      transducer: texts.transducer![i]!,
      physicalDimension: texts.physicalDimension![i]!,
      physicalMin: 0,
      physicalMax: 0,
      digitalMin: 0,
      digitalMax: 0,
      prefiltering: texts.prefiltering![i]!,
      samplesPerRecord,
      reserved: texts.reserved![i]!,
      isAnnotation,
      gain: 1,
      offset: 0,
    };
    if (!isAnnotation) {
      s.physicalMin = numberField(ctx, ...at("physicalMin", i));
      s.physicalMax = numberField(ctx, ...at("physicalMax", i));
      s.digitalMin = integerField(ctx, ...at("digitalMin", i));
      s.digitalMax = integerField(ctx, ...at("digitalMax", i));
      const [gain, offset] = scaling(s);
      if (gain === null) {
        ctx.warn({ code: "edf.range-undefined", message: `signal ${i} (${label}): ${s.physicalMin === s.physicalMax ? "physical" : "digital"} minimum equals maximum, so the scaling is undefined; giving uncalibrated digital values`, path: ctx.path });
      } else {
        s.gain = gain;
        s.offset = offset;
      }
    }
    signals.push(s);
  }
  return signals;
}

/** `[gain, offset]` with physical = (digital + offset) · gain, or `[null, 0]` when a range is empty or the numbers overflow. */
export function scaling(s: { physicalMin: number; physicalMax: number; digitalMin: number; digitalMax: number }): [number | null, number] {
  const gain = (s.physicalMax - s.physicalMin) / (s.digitalMax - s.digitalMin);
  const offset = s.physicalMax / gain - s.digitalMax;
  if (!Number.isFinite(gain) || gain === 0 || !Number.isFinite(offset)) return [null, 0];
  return [gain, offset];
}

function repairRecordCount(ctx: Ctx, stated: number, recordBytes: number, dataBytes: number): number {
  const available = Math.floor(dataBytes / recordBytes);
  const partial = dataBytes - available * recordBytes;
  if (stated === -1) {
    ctx.warn({ code: "edf.nrecords-unknown", message: `header.nRecords is -1; inferred ${available} records from the file size`, path: ctx.path });
    if (partial) ctx.warn({ code: "edf.truncated-record", message: `the last ${partial} bytes are an incomplete data record; dropped`, path: ctx.path });
    return available;
  }
  if (stated < 0) throw new FormatError({ path: ctx.path, field: "header.nRecords", offset: 236 }, `negative record count ${stated}`);
  if (stated > available) {
    ctx.warn({
      code: "edf.nrecords-mismatch",
      message: `header.nRecords says ${stated} but the file holds ${available} complete records${partial ? ` (+${partial} bytes of an incomplete one, dropped)` : ""}; reading ${available}`,
      path: ctx.path,
    });
    return available;
  }
  if (stated < available || partial) {
    const extra = dataBytes - stated * recordBytes;
    ctx.warn({ code: "edf.trailing-bytes", message: `${extra} bytes after the ${stated} records the header announces; ignored`, path: ctx.path });
  }
  return stated;
}

function parseStart(ctx: Ctx, dateText: string, timeText: string, recordingId: string): UtcTime | null {
  const legacy = parseLegacyDate(dateText);
  const rec = parseRecordingInfo(recordingId);
  const plusDate = rec ? parsePlusDate(rec.startdate) : null;
  const time = parseLegacyTime(timeText);
  if (!time) {
    ctx.warn({ code: "edf.starttime-invalid", message: `header.startTime ${JSON.stringify(timeText)} is not hh.mm.ss; start time unknown`, path: ctx.path });
    return null;
  }
  // EDF+ anonymised start: "Startdate X" with the spec's placeholder 01.01.85 00.00.00.
  if (rec?.startdate === "X" && dateText === "01.01.85" && timeText === "00.00.00") return null;
  const date = plusDate ?? legacy;
  if (plusDate && legacy && (plusDate.day !== legacy.day || plusDate.month !== legacy.month || plusDate.year % 100 !== legacy.year % 100)) {
    ctx.warn({ code: "edf.startdate-mismatch", message: `header.startDate ${dateText} disagrees with the EDF+ recording field (${rec!.startdate}); using the latter`, path: ctx.path });
  }
  if (!date) {
    ctx.warn({ code: "edf.startdate-invalid", message: `header.startDate ${JSON.stringify(dateText)} is not a valid dd.mm.yy date; start time unknown`, path: ctx.path });
    return null;
  }
  return utcTime(date.year, date.month, date.day, time.hour, time.minute, time.second);
}

/** Header fields as the writer sets them; numbers are already formatted to fit. */
export interface EdfHeaderFields {
  format: "edf" | "bdf";
  patientId: string;
  recordingId: string;
  startDate: string;
  startTime: string;
  reserved: string;
  nRecords: number;
  recordDuration: string;
  signals: {
    label: string;
    transducer: string;
    physicalDimension: string;
    physicalMin: string;
    physicalMax: string;
    digitalMin: string;
    digitalMax: string;
    prefiltering: string;
    samplesPerRecord: number;
    reserved: string;
  }[];
}

/** Writes `text` left-justified into `width` bytes (latin-1, space-padded); too long is a RangeError (the writer checks first). */
function putField(out: Uint8Array, offset: number, width: number, text: string, what: string): void {
  const b = Buffer.from(text, "latin1");
  if (b.length > width) throw new RangeError(`${what} ${JSON.stringify(text)} is longer than ${width} bytes`);
  out.fill(0x20, offset, offset + width);
  out.set(b, offset);
}

/** Serialises a header to its 256 · (ns + 1) bytes. */
export function serializeHeader(h: EdfHeaderFields): Uint8Array {
  const ns = h.signals.length;
  const out = new Uint8Array(FIXED_HEADER_BYTES * (ns + 1));
  if (h.format === "bdf") {
    out[0] = 0xff;
    putField(out, 1, 7, "BIOSEMI", "version");
  } else putField(out, 0, 8, "0", "version");
  putField(out, 8, 80, h.patientId, "patient");
  putField(out, 88, 80, h.recordingId, "recording");
  putField(out, 168, 8, h.startDate, "startdate");
  putField(out, 176, 8, h.startTime, "starttime");
  putField(out, 184, 8, String(out.length), "header bytes");
  putField(out, 192, 44, h.reserved, "reserved");
  putField(out, 236, 8, String(h.nRecords), "number of records");
  putField(out, 244, 8, h.recordDuration, "record duration");
  putField(out, 252, 4, String(ns), "number of signals");
  let off = FIXED_HEADER_BYTES;
  for (const [name, width] of SIGNAL_FIELDS) {
    h.signals.forEach((s, i) => putField(out, off + i * width, width, String(s[name]), `signals[${i}].${name}`));
    off += ns * width;
  }
  return out;
}
