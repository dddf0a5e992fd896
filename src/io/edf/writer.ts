/**
 * EDF+ / BDF+ writing. The header is chosen per channel (the tightest
 * physical range that fits the 8-character fields around the data, the full
 * digital range of the format), annotations are TALs after each record's
 * time stamp, segments become EDF+D record stamps, and the sub-second start
 * is the first stamp. Records are converted and written a chunk at a time to
 * a temporary file that is renamed into place only when complete.
 */
import { ValueError } from "../../errors.js";
import { channelData, nChannels, nSamples } from "../../recording/recording.js";
import { utcFields } from "../../recording/time.js";
import type { Annotation, Recording } from "../../recording/types.js";
import { printWarning, type WarningHandler } from "../../warnings.js";
import { openAtomic } from "../atomic.js";
import type { WriteOptions } from "../open.js";
import { addDecimal, decimalOf, decimalToString, mulDecimal, parseDecimal, type Decimal } from "./decimal.js";
import { formatPlusDate, scaling, serializeHeader, type EdfHeader, type EdfHeaderFields } from "./header.js";
import { CHUNK_BYTES } from "./reader.js";
import { unitToSi } from "./channels.js";
import { encodeTal } from "./tal.js";

export interface WriteEdfOptions extends WriteOptions {
  /** `edf` (16-bit) or `bdf` (24-bit); default from the extension (`.bdf` → bdf, else edf). */
  format?: "edf" | "bdf";
  /** EDF+ patient field (`code sex birthdate name`); default from an EDF source header, else `X X X X`. */
  patientId?: string;
  /** EDF+ recording field after the start date (`admincode technician equipment`); default from an EDF source header, else `X X X`. */
  recordingInfo?: string;
}

const DIGITAL = { edf: [-32768, 32767], bdf: [-8388608, 8388607] } as const;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The decimal text (≤ 8 chars) of `spr / sfreq` when it gives back `sfreq` exactly, else null. */
function durationText(spr: number, sfreq: number): string | null {
  const d = spr / sfreq;
  for (let dec = 0; dec <= 7; dec++) {
    const t = decimalToString(parseDecimal(d.toFixed(dec))!);
    if (t.length <= 8 && Number(t) > 0 && spr / Number(t) === sfreq) return t;
  }
  return null;
}

/**
 * Samples per record and record duration for `sfreq` such that every
 * segment is a whole number of records: the largest divisor of the common
 * length whose duration is exact in 8 characters. Null when none exists.
 */
function chooseRecord(sfreq: number, lengths: number[]): { spr: number; duration: string } | null {
  let spr0 = 0;
  for (const d of [1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 40, 50, 64, 100, 128, 200, 256, 500, 1000]) {
    const s = sfreq * d;
    if (Math.abs(s - Math.round(s)) <= 1e-9 * s && Math.round(s) >= 1) {
      spr0 = Math.round(s);
      break;
    }
  }
  if (spr0 === 0) return null;
  const g = lengths.reduce((a, b) => gcd(a, b), spr0);
  for (let spr = g; spr >= 1; spr--) {
    if (g % spr !== 0) continue;
    const duration = durationText(spr, sfreq);
    if (duration) return { spr, duration };
  }
  return null;
}

/** For rates no short duration gives exactly (e.g. Neuromag's 600.614990234375 Hz): about 1 s records, the duration rounded to 8 characters. */
function approximateRecord(sfreq: number): { spr: number; duration: string } {
  const spr = Math.max(1, Math.round(sfreq));
  const d = spr / sfreq;
  for (let dec = 7; dec >= 0; dec--) {
    const duration = decimalToString(parseDecimal(d.toFixed(dec))!);
    if (duration.length <= 8 && Number(duration) > 0) return { spr, duration };
  }
  throw new ValueError(`no EDF record duration of at most 8 characters fits ${sfreq} Hz`);
}

/** The tightest ≤ 8-character decimal at or below (`up` false) or above (`up` true) `x`. */
function formatBound(x: number, up: boolean): string | null {
  for (let dec = 7; dec >= 0; dec--) {
    const f = 10 ** dec;
    let k = up ? Math.ceil(x * f) : Math.floor(x * f);
    let t = decimalToString(parseDecimal((k / f).toFixed(dec))!);
    if (up ? Number(t) < x : Number(t) > x) {
      k += up ? 1 : -1;
      t = decimalToString(parseDecimal((k / f).toFixed(dec))!);
    }
    if (t.length <= 8) return t;
  }
  return null;
}

function fitLatin1(text: string, width: number, what: string, warn: WarningHandler, path: string): string {
  let t = text.replace(/[^\x20-\x7e\xa0-\xff]/g, "?");
  if (t.length > width) t = t.slice(0, width);
  if (t !== text) warn({ code: "edf.field-truncated", message: `${what} ${JSON.stringify(text)} does not fit ${width} latin-1 characters; written as ${JSON.stringify(t)}`, path });
  return t;
}

interface ChannelPlan {
  row: Float32Array;
  dimension: string;
  /** Reciprocal of (gain · SI factor): digital = round(x · inv − offset). */
  inv: number;
  offset: number;
  fields: EdfHeaderFields["signals"][number];
}

function planChannel(rec: Recording, i: number, format: "edf" | "bdf", spr: number, warn: WarningHandler, path: string, label: string): ChannelPlan {
  const c = rec.channels[i]!;
  const row = channelData(rec, i);
  const [dmin, dmax] = DIGITAL[format];
  let lo = Infinity;
  let hi = -Infinity;
  let integral = true;
  for (let k = 0; k < row.length; k++) {
    const v = row[k]!;
    if (!Number.isFinite(v)) throw new ValueError(`cannot write "${path}": channel ${c.name} sample ${k} is ${v}`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (integral && v !== Math.round(v)) integral = false;
  }
  if (row.length === 0) [lo, hi] = [0, 0];
  const source = sourceSignal(rec, c.name);
  const base = {
    label,
    transducer: fitLatin1(source?.transducer ?? "", 80, `transducer of ${c.name}`, warn, path),
    digitalMin: String(dmin),
    digitalMax: String(dmax),
    prefiltering: fitLatin1(source?.prefiltering ?? "", 80, `prefiltering of ${c.name}`, warn, path),
    samplesPerRecord: spr,
    reserved: "",
  };
  // Codes (stim channels) are stored one to one: physical = digital.
  if (c.kind === "stim" && integral && lo >= dmin && hi <= dmax) {
    // A dimensionless code channel keeps its file's own word for that (BioSemi writes `Boolean`).
    const own = c.unit === "" && unitToSi(c.origUnit).unit !== "V" ? c.origUnit : c.unit === "V" ? "" : c.unit;
    const dimension = fitLatin1(own, 8, `unit of ${c.name}`, warn, path);
    return { row, dimension, inv: 1, offset: 0, fields: { ...base, physicalDimension: dimension, physicalMin: String(dmin), physicalMax: String(dmax) } };
  }
  let dimension: string;
  if (c.unit === "V") dimension = unitToSi(c.origUnit).unit === "V" ? c.origUnit : "uV";
  else dimension = fitLatin1(c.unit, 8, `unit of ${c.name}`, warn, path);
  const si = unitToSi(dimension).scale;
  let [plo, phi] = [lo / si, hi / si];
  if (plo === phi) [plo, phi] = [plo - 1, phi + 1];
  const pmin = formatBound(plo, false);
  const pmax = formatBound(phi, true);
  if (pmin === null || pmax === null) throw new ValueError(`cannot write "${path}": channel ${c.name} values up to ${Math.max(Math.abs(plo), Math.abs(phi))} ${dimension} do not fit the 8-character physical range fields`);
  const [gain, offset] = scaling({ physicalMin: Number(pmin), physicalMax: Number(pmax), digitalMin: dmin, digitalMax: dmax });
  if (gain === null) throw new ValueError(`cannot write "${path}": channel ${c.name} has an empty physical range [${pmin}, ${pmax}] ${dimension}`);
  if ((Number(pmax) - Number(pmin)) > 1e3 * (phi - plo)) {
    warn({ code: "edf.precision-loss", message: `channel ${c.name}: values span ${phi - plo} ${dimension}, but the 8-character physical range is [${pmin}, ${pmax}]; resolution is coarse`, path });
  }
  return { row, dimension, inv: 1 / (gain * si), offset, fields: { ...base, physicalDimension: dimension, physicalMin: pmin, physicalMax: pmax } };
}

/** The EDF source header of the recording, when it was read from EDF/BDF (to keep patient fields, transducers, prefilters). */
function sourceHeader(rec: Recording): EdfHeader | null {
  const h = rec.source.header as Partial<EdfHeader> | undefined;
  return (rec.source.format === "edf" || rec.source.format === "bdf") && h && Array.isArray(h.signals) ? (h as EdfHeader) : null;
}

function sourceSignal(rec: Recording, name: string): { transducer: string; prefiltering: string } | undefined {
  return sourceHeader(rec)?.signals.find((s) => s.label === name);
}

function startFields(rec: Recording, warn: WarningHandler, path: string): { date: string; time: string; plusDate: string } {
  if (!rec.startTime) return { date: "01.01.85", time: "00.00.00", plusDate: "X" };
  const f = utcFields(rec.startTime);
  const two = (n: number): string => String(n).padStart(2, "0");
  let yy = two(f.year % 100);
  if (f.year > 2084) yy = "yy";
  else if (f.year < 1985) warn({ code: "edf.year-before-1985", message: `start year ${f.year} is before 1985: the legacy date field cannot hold it; the EDF+ recording field has the true year`, path });
  return { date: `${two(f.day)}.${two(f.month)}.${yy}`, time: `${two(f.hour)}.${two(f.minute)}.${two(f.second)}`, plusDate: formatPlusDate(f.year, f.month, f.day) };
}

/** Assigns TALs to records in order, each record holding at most `capacity` bytes after its time stamp. */
function packTals(tals: Uint8Array[], stamps: Uint8Array[]): { perRecord: Uint8Array[][]; bytes: number } {
  const n = stamps.length;
  const total = tals.reduce((a, t) => a + t.length, 0);
  const stampMax = Math.max(...stamps.map((s) => s.length));
  let capacity = stampMax + Math.max(Math.ceil(total / n), ...tals.map((t) => t.length), 0);
  for (;;) {
    const perRecord: Uint8Array[][] = stamps.map(() => []);
    let r = 0;
    let used = stamps[0]!.length;
    let fits = true;
    for (const t of tals) {
      while (r < n && used + t.length > capacity) {
        r++;
        used = r < n ? stamps[r]!.length : 0;
      }
      if (r >= n) {
        fits = false;
        break;
      }
      perRecord[r]!.push(t);
      used += t.length;
    }
    if (fits) return { perRecord, bytes: capacity };
    capacity = Math.ceil(capacity * 1.25);
  }
}

function annotationTals(annotations: readonly Annotation[], frac: Decimal): Uint8Array[] {
  const sorted = [...annotations].sort((a, b) => a.onset - b.onset);
  const tals: Uint8Array[] = [];
  for (const a of sorted) {
    if (/[\x00\x14\x15]/.test(a.description)) throw new ValueError(`annotation ${JSON.stringify(a.description)} contains a control byte (0x00, 0x14 or 0x15) that EDF+ cannot store`);
    if (!Number.isFinite(a.onset) || (a.duration !== null && !(a.duration >= 0 && Number.isFinite(a.duration)))) {
      throw new ValueError(`annotation ${JSON.stringify(a.description)} has onset ${a.onset} / duration ${a.duration}; EDF+ needs a finite onset and a non-negative duration`);
    }
    const onset = decimalToString(addDecimal(frac, decimalOf(a.onset)), true);
    const duration = a.duration === null ? null : decimalToString(decimalOf(a.duration));
    if (a.channels?.length) for (const ch of a.channels) tals.push(encodeTal(onset, duration, [`${a.description}@@${ch}`]));
    else tals.push(encodeTal(onset, duration, [a.description]));
  }
  return tals;
}

/**
 * Writes a Recording as EDF+ (16-bit) or BDF+ (24-bit): EDF+C when it has
 * one segment, EDF+D with record time stamps at the segment onsets
 * otherwise. Values round-trip within one digital step (physical range /
 * (digital range)), annotations (onset, duration, text, channels as MNE's
 * `text@@CHANNEL`) and the start time (to the sub-second) exactly. A
 * recording without channels is written as an annotation-only file (record
 * duration 0). The file appears at `path` only when complete.
 */
export function writeEdf(path: string, rec: Recording, opts: WriteEdfOptions = {}): void {
  const warn = opts.onWarning ?? printWarning;
  const format = opts.format ?? (path.toLowerCase().endsWith(".bdf") ? "bdf" : "edf");
  const bps = format === "bdf" ? 3 : 2;
  const nc = nChannels(rec);
  const ns = nSamples(rec);
  const plusName = format === "bdf" ? "BDF" : "EDF";
  const segments = rec.segments.filter((s) => s.nSamples > 0);

  let spr = 0;
  let nRecords = 1;
  let duration = "0";
  if (nc > 0) {
    if (ns === 0) throw new ValueError(`cannot write "${path}": the recording has no samples`);
    const choice = chooseRecord(rec.sfreq, segments.map((s) => s.nSamples));
    if (choice) ({ spr, duration } = choice);
    else {
      const fallback = chooseRecord(rec.sfreq, []) ?? approximateRecord(rec.sfreq);
      ({ spr, duration } = fallback);
      if (spr / Number(duration) !== rec.sfreq) {
        warn({ code: "edf.rate-approximate", message: `no record duration of at most 8 characters gives ${rec.sfreq} Hz exactly; written as ${spr} samples per ${duration} s = ${spr / Number(duration)} Hz`, path });
      }
      if (segments.some((s) => s.nSamples % spr !== 0)) warn({ code: "edf.padded", message: `segment lengths are not a multiple of ${spr} samples (one ${duration} s record); the last record of each segment is padded with zeros (as MNE's export does)`, path });
    }
    nRecords = segments.reduce((a, s) => a + Math.ceil(s.nSamples / spr), 0);
  }

  const labels = rec.channels.map((c) => fitLatin1(c.name, 16, "channel name", warn, path).trim());
  if (new Set(labels).size !== labels.length) throw new ValueError(`cannot write "${path}": channel names are not unique in 16 latin-1 characters (${labels.join(", ")})`);
  const plans = rec.channels.map((_, i) => planChannel(rec, i, format, spr, warn, path, labels[i]!));

  // Record time stamps: sub-second start + segment onset + k · duration, exact in decimal.
  const frac = decimalOf(rec.startTime?.fraction ?? 0);
  const dur = parseDecimal(duration)!;
  const recordSource: { segment: number; first: number }[] = [];
  const stamps: Uint8Array[] = [];
  if (nc === 0) stamps.push(encodeTal(decimalToString(frac, true), null, [""]));
  segments.forEach((s, si) => {
    const onset = addDecimal(frac, decimalOf(s.onset));
    for (let k = 0; k * spr < s.nSamples; k++) {
      recordSource.push({ segment: si, first: s.startSample + k * spr });
      stamps.push(encodeTal(decimalToString(addDecimal(onset, mulDecimal(dur, k)), true), null, [""]));
    }
  });
  const { perRecord, bytes: annBytes } = packTals(annotationTals(rec.annotations, frac), stamps);
  const annSpr = Math.ceil(annBytes / bps);

  const src = sourceHeader(rec);
  const start = startFields(rec, warn, path);
  const patientId = fitLatin1(opts.patientId ?? (src?.patient ? src.patientId : "X X X X"), 80, "patient field", warn, path);
  const info = opts.recordingInfo ?? (src?.recording ? src.recordingId.split(/ +/).slice(2).join(" ") : "X X X");
  const recordingId = fitLatin1(`Startdate ${start.plusDate} ${info}`, 80, "recording field", warn, path);
  const [dmin, dmax] = DIGITAL[format];
  const header: EdfHeaderFields = {
    format,
    patientId,
    recordingId,
    startDate: start.date,
    startTime: start.time,
    reserved: `${plusName}+${segments.length > 1 ? "D" : "C"}`,
    nRecords,
    recordDuration: duration,
    signals: [
      ...plans.map((p) => p.fields),
      { label: `${plusName} Annotations`, transducer: "", physicalDimension: "", physicalMin: "-1", physicalMax: "1", digitalMin: String(dmin), digitalMax: String(dmax), prefiltering: "", samplesPerRecord: annSpr, reserved: "" },
    ],
  };
  const recordBytes = (nc * spr + annSpr) * bps;
  const file = openAtomic(path);
  try {
    file.write(serializeHeader(header));
    const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / recordBytes));
    const buf = new Uint8Array(Math.min(perChunk, nRecords) * recordBytes);
    const i16 = bps === 2 ? new Int16Array(buf.buffer) : null;
    for (let r0 = 0; r0 < nRecords; r0 += perChunk) {
      const count = Math.min(perChunk, nRecords - r0);
      buf.fill(0, 0, count * recordBytes);
      for (let r = r0; r < r0 + count; r++) {
        const base = (r - r0) * recordBytes;
        if (nc > 0) {
          const { segment, first } = recordSource[r]!;
          const seg = segments[segment]!;
          const n = Math.min(spr, seg.startSample + seg.nSamples - first);
          plans.forEach((p, c) => {
            const pos = base + c * spr * bps;
            // Samples past the segment's end (padding) are the digital value nearest physical 0.
            for (let j = 0; j < spr; j++) {
              let d = Math.round((j < n ? p.row[first + j]! : 0) * p.inv - p.offset);
              d = d < dmin ? dmin : d > dmax ? dmax : d;
              if (i16) i16[(pos >> 1) + j] = d;
              else {
                const q = pos + 3 * j;
                buf[q] = d & 0xff;
                buf[q + 1] = (d >> 8) & 0xff;
                buf[q + 2] = (d >> 16) & 0xff;
              }
            }
          });
        }
        let q = base + nc * spr * bps;
        for (const t of [stamps[r]!, ...perRecord[r]!]) {
          buf.set(t, q);
          q += t.length;
        }
      }
      file.write(buf.subarray(0, count * recordBytes));
    }
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
}
