/**
 * EDF+ Time-stamped Annotation Lists. Grammar of one TAL:
 * `Onset [0x15 Duration] 0x14 [Text 0x14]* 0x00`, onsets signed decimal
 * seconds, text UTF-8. The first TAL of every record of the first annotation
 * signal is the record's time stamp (`+onset 0x14 0x14`, empty text).
 */
import type { WarningHandler } from "../../warnings.js";
import { parseDecimal, type Decimal } from "./decimal.js";

/** One TAL: its onset (exact decimal, as in the file), duration (null when absent) and texts (empty ones kept). */
export interface Tal {
  onset: Decimal;
  duration: number | null;
  texts: string[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeText(bytes: Uint8Array, warn: WarningHandler, path: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    const text = Buffer.from(bytes).toString("latin1");
    warn({ code: "edf.tal-not-utf8", message: `annotation text is not UTF-8; read as latin-1: ${JSON.stringify(text)}`, path });
    return text;
  }
}

/**
 * The onset of `bytes[p, end)` when it is a bare time-keeping TAL
 * (`+onset 0x14 0x14`, at most 15 digits), else null. Every record has one,
 * so parsing it without strings, regular expressions or a text decoder keeps
 * the annotations of an hour-long file from costing more than its samples
 * (most of it in code not yet compiled, as a fresh process reads once).
 * Same result as the general path.
 */
function timeKeeping(bytes: Uint8Array, p: number, end: number): Decimal | null {
  const sign = bytes[p];
  if (sign !== 0x2b && sign !== 0x2d) return null;
  let n = 0;
  let digits = 0;
  let scale = 0;
  let dot = false;
  let i = p + 1;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      digits++;
      if (dot) scale++;
    } else if (c === 0x2e && !dot && digits > 0) dot = true;
    else break;
  }
  if (digits === 0 || digits > 15 || i + 2 !== end || bytes[i] !== 0x14 || bytes[i + 1] !== 0x14) return null;
  return { n: BigInt(sign === 0x2d ? -n : n), scale };
}

/**
 * Parses the TALs in one record's annotation bytes. Malformed TALs are
 * skipped with a warning (never an exception): one bad annotation must not
 * make a recording unreadable.
 */
export function parseTals(bytes: Uint8Array, warn: WarningHandler, path: string): Tal[] {
  const tals: Tal[] = [];
  let p = 0;
  const n = bytes.length;
  while (p < n) {
    if (bytes[p] === 0) {
      p++;
      continue;
    }
    let end = bytes.indexOf(0, p);
    if (end < 0) end = n;
    const stamp = timeKeeping(bytes, p, end);
    if (stamp) {
      tals.push({ onset: stamp, duration: null, texts: [""] });
      p = end + 1;
      continue;
    }
    const tal = bytes.subarray(p, end);
    p = end + 1;
    const firstSep = tal.indexOf(0x14);
    if (firstSep < 0) {
      warn({ code: "edf.tal-invalid", message: `TAL without a 0x14 separator skipped: ${JSON.stringify(Buffer.from(tal).toString("latin1"))}`, path });
      continue;
    }
    const head = Buffer.from(tal.subarray(0, firstSep)).toString("latin1");
    const [onsetText, durationText, ...more] = head.split("\x15");
    const onset = /^[+-]\d+(\.\d*)?$/.test(onsetText!) ? parseDecimal(onsetText!) : null;
    if (!onset || more.length > 0) {
      warn({ code: "edf.tal-invalid", message: `TAL with an invalid onset ${JSON.stringify(head)} skipped`, path });
      continue;
    }
    let duration: number | null = null;
    if (durationText !== undefined) {
      if (/^\d+(\.\d*)?$|^\.\d+$/.test(durationText)) duration = Number(durationText);
      else warn({ code: "edf.tal-invalid", message: `TAL duration ${JSON.stringify(durationText)} is not a number; read as absent`, path });
    }
    const texts: string[] = [];
    let q = firstSep + 1;
    while (q < tal.length) {
      let sep = tal.indexOf(0x14, q);
      if (sep < 0) sep = tal.length;
      texts.push(decodeText(tal.subarray(q, sep), warn, path));
      q = sep + 1;
    }
    tals.push({ onset, duration, texts });
  }
  return tals;
}

const encoder = new TextEncoder();

/** Encodes one TAL: onset text (with sign), optional duration text, texts (each followed by 0x14), final 0x00. */
export function encodeTal(onset: string, duration: string | null, texts: readonly string[]): Uint8Array {
  const parts: number[] = [...encoder.encode(onset)];
  if (duration !== null) parts.push(0x15, ...encoder.encode(duration));
  parts.push(0x14);
  for (const t of texts) parts.push(...encoder.encode(t), 0x14);
  parts.push(0);
  return Uint8Array.from(parts);
}
