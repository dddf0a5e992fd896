import { basename, dirname, join } from "node:path";
import { FormatError, ValueError } from "../../errors.js";
import type { WarningHandler } from "../../warnings.js";
import { FIFF, FIFFB, FIFFT, FIFFV_ROLE_NEXT_FILE } from "./constants.js";
import { idTime, readMeasInfo, type FifInfo } from "./info.js";
import { FIF_ARENA_MAX_BUFFER, FifDecodeArena } from "./simd-decode.js";
import { openFifSource, type FifSource } from "./source.js";
import { readTagData, TAG_HEADER_BYTES, tagNameList, tagNumber, tagNumbers, tagString } from "./tag.js";
import { buildTree, findBlocks, findEntry, readDirectory, type DirEntry, type FifNode } from "./tree.js";

/** Bytes per sample of each raw buffer type MNE accepts (complex types are not supported here). */
const BUFFER_BYTES: Readonly<Record<number, number>> = {
  [FIFFT.DAU_PACK16]: 2,
  [FIFFT.SHORT]: 2,
  [FIFFT.INT]: 4,
  [FIFFT.FLOAT]: 4,
  [FIFFT.DOUBLE]: 8,
};

/** Longest gap a `FIFF_DATA_SKIP` may declare (2^31 samples, about 10 days at 2.4 kHz); more means a corrupt file. */
const MAX_SKIP_SAMPLES = 2 ** 31;

/** One stretch of raw samples: a data buffer in one of the files, or a skip (zeros). */
export interface FifBuffer {
  /** Index into `FifRawFile.sources`. */
  file: number;
  /** The `FIFF_DATA_BUFFER` tag, or `null` for a `FIFF_DATA_SKIP` gap. */
  entry: DirEntry | null;
  /** Index of the buffer's first sample from the first sample of the recording. */
  start: number;
  nSamples: number;
}

/** An MNE annotation as stored, before it is made relative to the first sample. */
export interface FifAnnotations {
  onset: number[];
  duration: number[];
  description: string[];
  /** Seconds since 1970 UTC the onsets are relative to, or null (first sample). */
  origTime: number | null;
  channels: string[][] | null;
}

/** An open raw FIF file (and its split continuations): info and buffer map, data read on demand. */
export interface FifRawFile {
  path: string;
  /** Paths of the split parts in order (the first is `path`). */
  paths: string[];
  info: FifInfo;
  /** FIF `first_samp`: acquisition index of the first sample. */
  firstSample: number;
  /** Total samples per channel (skips included). */
  nSamples: number;
  buffers: FifBuffer[];
  annotations: FifAnnotations | null;
  sources: FifSource[];
}

export interface OpenFifOptions {
  onWarning?: WarningHandler;
}

function rawNode(src: FifSource, meas: FifNode): FifNode {
  for (const block of [FIFFB.RAW_DATA, FIFFB.CONTINUOUS_DATA]) {
    const found = findBlocks(meas, block);
    if (found.length > 0) return found[0]!;
  }
  if (findBlocks(meas, FIFFB.IAS_RAW_DATA).length > 0) {
    throw new FormatError({ path: src.path, field: "raw data" }, "MaxShield (IAS) raw data is not supported: process it with MaxFilter first");
  }
  throw new FormatError({ path: src.path, field: "raw data" }, "no raw data block (FIFFB_RAW_DATA or FIFFB_CONTINUOUS_DATA): is this an evoked or epochs file?");
}

/** Reads the `FIFFB_MNE_ANNOTATIONS` block as stored. */
export function readFifAnnotations(src: FifSource, tree: FifNode): FifAnnotations | null {
  const node = findBlocks(tree, FIFFB.MNE_ANNOTATIONS)[0];
  if (!node) return null;
  const out: FifAnnotations = { onset: [], duration: [], description: [], origTime: null, channels: null };
  let ends: number[] = [];
  for (const e of node.entries) {
    const d = readTagData(src, e);
    if (e.kind === FIFF.MNE_BASELINE_MIN) out.onset = tagNumbers(d);
    else if (e.kind === FIFF.MNE_BASELINE_MAX) ends = tagNumbers(d);
    else if (e.kind === FIFF.COMMENT) out.description = tagNameList(d);
    else if (e.kind === FIFF.MEAS_DATE) {
      const v = tagNumbers(d);
      // One value: seconds (old files); two: seconds and microseconds (MNE writes them as doubles or ints).
      out.origTime = v.length === 1 ? v[0]! : v[0]! + (v[1] ?? 0) / 1e6;
    } else if (e.kind === FIFF.MNE_EPOCHS_DROP_LOG) {
      try {
        out.channels = JSON.parse(tagString(d)) as string[][];
      } catch {
        throw new FormatError({ path: src.path, field: "annotations.ch_names", offset: e.pos }, "not valid JSON");
      }
    }
  }
  // MNE stores onset+duration and subtracts in float32 arithmetic when the tags are float.
  out.duration = out.onset.map((o, i) => (ends[i] ?? o) - o);
  if (out.onset.length !== ends.length || out.onset.length !== out.description.length) {
    throw new FormatError({ path: src.path, field: "annotations", offset: node.entries[0]?.pos }, `${out.onset.length} onsets, ${ends.length} ends and ${out.description.length} descriptions`);
  }
  return out;
}

function nextSplitName(src: FifSource, tree: FifNode): string | null {
  for (const ref of findBlocks(tree, FIFFB.REF)) {
    const roleE = findEntry(ref, FIFF.REF_ROLE);
    if (!roleE || tagNumber(readTagData(src, roleE)) !== FIFFV_ROLE_NEXT_FILE) continue;
    const nameE = findEntry(ref, FIFF.REF_FILE_NAME);
    if (nameE) return join(dirname(src.path), basename(tagString(readTagData(src, nameE))));
    const numE = findEntry(ref, FIFF.REF_FILE_NUM);
    if (numE) return splitNameByNumber(src.path, tagNumber(readTagData(src, numE)));
  }
  return null;
}

/** MNE's rule for the name of split part `num` when only the number is stored: `x_raw.fif` → `x_raw-1.fif`. */
export function splitNameByNumber(path: string, num: number): string {
  const base = basename(path);
  const dot = base.indexOf(".");
  const stem = dot < 0 ? base : base.slice(0, dot);
  const ext = dot < 0 ? "" : base.slice(dot);
  const dash = stem.lastIndexOf("-");
  const numbered = dash >= 0 && /^\d+$/.test(stem.slice(dash + 1));
  return join(dirname(path), `${numbered ? stem.slice(0, dash) : stem}-${num}${ext}`);
}

interface ParsedFile {
  info: FifInfo;
  tree: FifNode;
  firstSample: number;
  buffers: { entry: DirEntry | null; start: number; nSamples: number }[];
}

/** The block tree, the measurement block (the root when there is none) and the measurement info of an open FIF file. */
export function readFifTreeAndInfo(src: FifSource, onWarning?: WarningHandler): { tree: FifNode; meas: FifNode; info: FifInfo } {
  const tree = buildTree(src, readDirectory(src, onWarning));
  const meas = findBlocks(tree, FIFFB.MEAS)[0] ?? tree;
  return { tree, meas, info: readMeasInfo(src, meas, idTime(src, tree, FIFF.FILE_ID)) };
}

/** Walks the raw block the way MNE's `_read_raw_file` does (first_samp, initial skip, buffers, skips). */
function parseRawFile(src: FifSource, opts: OpenFifOptions): ParsedFile {
  const { tree, meas, info } = readFifTreeAndInfo(src, opts.onWarning);
  const raw = rawNode(src, meas);
  const ents = raw.entries;
  let k = 0;
  let firstSample = 0;
  let firstSkip = 0;
  if (ents[k]?.kind === FIFF.FIRST_SAMPLE) firstSample = tagNumber(readTagData(src, ents[k++]!));
  if (ents[k]?.kind === FIFF.DATA_SKIP) firstSkip = tagNumber(readTagData(src, ents[k++]!));
  let cursor = firstSample;
  let nskip = 0;
  const buffers: ParsedFile["buffers"] = [];
  for (; k < ents.length; k++) {
    const e = ents[k]!;
    if (e.kind === FIFF.DATA_SKIP) {
      nskip = tagNumber(readTagData(src, e));
      if (!Number.isInteger(nskip) || nskip < 0) throw new FormatError({ path: src.path, field: "FIFF_DATA_SKIP", offset: e.pos }, `invalid skip ${nskip}`);
    } else if (e.kind === FIFF.DATA_BUFFER) {
      const bps = BUFFER_BYTES[e.type];
      if (bps === undefined) throw new FormatError({ path: src.path, field: "FIFF_DATA_BUFFER", offset: e.pos }, `cannot read data buffers of type ${e.type}`);
      const nsamp = Math.floor(e.size / (bps * info.nchan));
      if (nsamp * bps * info.nchan !== e.size) {
        throw new FormatError({ path: src.path, field: "FIFF_DATA_BUFFER", offset: e.pos }, `${e.size} bytes is not a whole number of ${info.nchan}-channel samples`);
      }
      if (firstSkip > 0) {
        // An initial skip moves first_samp instead of inserting zeros.
        firstSample += nsamp * firstSkip;
        cursor = firstSample;
        firstSkip = 0;
      }
      if (nskip > 0) {
        if (nskip * nsamp > MAX_SKIP_SAMPLES) throw new FormatError({ path: src.path, field: "FIFF_DATA_SKIP", offset: e.pos }, `skip of ${nskip} buffers (${nskip * nsamp} samples) is implausible`);
        buffers.push({ entry: null, start: cursor, nSamples: nskip * nsamp });
        cursor += nskip * nsamp;
        nskip = 0;
      }
      buffers.push({ entry: e, start: cursor, nSamples: nsamp });
      cursor += nsamp;
    }
  }
  return { info, tree, firstSample, buffers };
}

/**
 * Opens a raw FIF file (`.fif` or `.fif.gz`) and any split parts it points
 * to: reads the tag directory, measurement info, annotations and where each
 * data buffer is, but no samples. Read samples with `readFifSamples`, then
 * `closeFifRaw`. Gzip files are inflated in memory (gzip has no random access).
 */
export function openFifRaw(path: string, opts: OpenFifOptions = {}): FifRawFile {
  const sources: FifSource[] = [];
  try {
    const src = openFifSource(path);
    sources.push(src);
    const first = parseRawFile(src, opts);
    const annotations = readFifAnnotations(src, first.tree);
    const buffers: FifBuffer[] = first.buffers.map((b) => ({ ...b, file: 0, start: b.start - first.firstSample }));
    let end = buffers.reduce((n, b) => n + b.nSamples, 0);
    const paths = [path];
    let next = nextSplitName(src, first.tree);
    while (next !== null) {
      if (paths.includes(next)) throw new FormatError({ path, field: "split files" }, `split file ${next} is referenced twice`);
      const part = openFifSource(next);
      sources.push(part);
      paths.push(next);
      const parsed = parseRawFile(part, opts);
      if (parsed.info.nchan !== first.info.nchan) throw new FormatError({ path: next, field: "FIFF_NCHAN" }, `split part has ${parsed.info.nchan} channels, the first part ${first.info.nchan}`);
      if (parsed.firstSample - first.firstSample !== end) {
        throw new FormatError({ path: next, field: "FIFF_FIRST_SAMPLE" }, `split part starts at sample ${parsed.firstSample}, expected ${first.firstSample + end}`);
      }
      for (const b of parsed.buffers) buffers.push({ ...b, file: sources.length - 1, start: b.start - first.firstSample });
      end += parsed.buffers.reduce((n, b) => n + b.nSamples, 0);
      next = nextSplitName(part, parsed.tree);
    }
    if (buffers.length === 0) throw new FormatError({ path, field: "raw data" }, "the raw data block holds no data buffers");
    return { path, paths, info: first.info, firstSample: first.firstSample, nSamples: end, buffers, annotations, sources };
  } catch (e) {
    sources.forEach((s) => s.close());
    throw e;
  }
}

/** Closes the files of an open raw FIF. */
export function closeFifRaw(raw: FifRawFile): void {
  raw.sources.forEach((s) => s.close());
}

/**
 * Indices of the channels named `names` (in that order; names as stored,
 * before `readFif` numbers duplicates), or all channels when `names` is
 * undefined. Unknown names are a `ValueError`.
 */
export function fifPicks(info: FifInfo, names: readonly string[] | undefined, path: string): number[] {
  if (!names) return info.channels.map((_, i) => i);
  return names.map((n) => {
    const i = info.channels.findIndex((c) => c.name === n);
    if (i < 0) throw new ValueError(`${path}: unknown channel "${n}"`);
    return i;
  });
}

/**
 * A SIMD decode arena for reading all channels of `raw` in file order, with
 * the size of its read buffer (the largest data buffer); null for a subset or
 * another order, data buffers too large for its 32-bit memory, or no SIMD.
 */
export function fifDecodeArena(raw: FifRawFile, picks: readonly number[]): { arena: FifDecodeArena; scratchBytes: number } | null {
  const scratchBytes = raw.buffers.reduce((m, b) => (b.entry ? Math.max(m, b.nSamples * BUFFER_BYTES[b.entry.type]! * raw.info.nchan) : m), 0);
  if (picks.length !== raw.info.nchan || !picks.every((c, k) => c === k) || scratchBytes > FIF_ARENA_MAX_BUFFER) return null;
  const arena = FifDecodeArena.create();
  return arena ? { arena, scratchBytes } : null;
}

/** Per-channel factor from stored numbers to SI units: `range × cal` (MNE's `info._cals`). */
export function fifCalibrations(info: FifInfo): Float64Array {
  return Float64Array.from(info.channels, (c) => c.range * c.cal);
}

/** One read buffer per open file, reused across calls (reading in chunks would otherwise touch fresh memory each time). */
const scratchOf = new WeakMap<FifRawFile, Uint8Array>();

/**
 * Reads samples `[start, stop)` (from the first sample) of the channels
 * `picks` (indices; default all) into `out[k]` at offset `outOffset`, in SI
 * units. Buffers are read one at a time with positioned reads; skips read as
 * zeros. With `arena` (`fifDecodeArena`, reserved for the largest buffer),
 * buffers are read into the arena and float32 ones decode with SIMD, to the
 * same values (directly when its chunk holds `out`, else staged there).
 */
export function readFifSamples(raw: FifRawFile, start: number, stop: number, out: Float32Array[], picks?: readonly number[], outOffset = 0, arena?: FifDecodeArena): void {
  const nchan = raw.info.nchan;
  if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop > raw.nSamples || stop < start) {
    throw new ValueError(`sample range [${start}, ${stop}) is not within [0, ${raw.nSamples})`);
  }
  const chans = picks ?? Array.from({ length: nchan }, (_, i) => i);
  if (out.length < chans.length) throw new ValueError(`need ${chans.length} output rows, got ${out.length}`);
  for (const c of chans) if (!Number.isInteger(c) || c < 0 || c >= nchan) throw new ValueError(`channel index ${c} out of range [0, ${nchan})`);
  const cals = fifCalibrations(raw.info);
  let scratch = scratchOf.get(raw) ?? new Uint8Array(0);
  for (const b of raw.buffers) {
    const lo = Math.max(start, b.start);
    const hi = Math.min(stop, b.start + b.nSamples);
    if (hi <= lo) continue;
    const o = outOffset + lo - start;
    if (b.entry === null) {
      chans.forEach((_, k) => out[k]!.fill(0, o, o + hi - lo));
      continue;
    }
    const bps = BUFFER_BYTES[b.entry.type]!;
    const rowBytes = bps * nchan;
    const len = (hi - lo) * rowBytes;
    // Keep the scratch 8-byte aligned so typed-array views over it are valid.
    if (!arena && scratch.length < len) {
      scratch = new Uint8Array(new ArrayBuffer(Math.ceil(len / 8) * 8));
      scratchOf.set(raw, scratch);
    }
    const bytes = arena ? arena.scratch(len) : scratch.subarray(0, len);
    raw.sources[b.file]!.readInto(bytes, b.entry.pos + TAG_HEADER_BYTES + (lo - b.start) * rowBytes, len);
    decodeRows(bytes, b.entry.type, nchan, hi - lo, chans, cals, out, o, arena);
  }
}

/** Byte-swaps big-endian samples in place and scatters `[nsamp][nchan]` into calibrated channel rows. */
function decodeRows(bytes: Uint8Array, type: number, nchan: number, nsamp: number, chans: readonly number[], cals: Float64Array, out: Float32Array[], o: number, arena?: FifDecodeArena): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let src: Int16Array | Int32Array | Float32Array | Float64Array;
  if (type === FIFFT.DOUBLE) {
    buf.swap64();
    src = new Float64Array(bytes.buffer, bytes.byteOffset, nsamp * nchan);
  } else if (type === FIFFT.INT || type === FIFFT.FLOAT) {
    // All channels in order, in an arena: the SIMD decoder swaps bytes as it goes.
    if (type === FIFFT.FLOAT && arena && chans.length === nchan && chans.every((c, k) => c === k) && arena.scatterFloat(bytes, nchan, nsamp, cals, out, o)) return;
    buf.swap32();
    src = type === FIFFT.INT ? new Int32Array(bytes.buffer, bytes.byteOffset, nsamp * nchan) : new Float32Array(bytes.buffer, bytes.byteOffset, nsamp * nchan);
  } else {
    buf.swap16();
    src = new Int16Array(bytes.buffer, bytes.byteOffset, nsamp * nchan);
  }
  scatter(src, nchan, nsamp, chans, cals, out, o);
}

/** Samples per block of the transpose: a block of all channels stays in L1 while each row gets 64 contiguous bytes. */
const BLOCK = 16;

/** `out[k][o + t] = src[t * nchan + chans[k]] * cals[chans[k]]`, blocked over time for cache locality. */
function scatter(src: ArrayLike<number>, nchan: number, nsamp: number, chans: readonly number[], cals: Float64Array, out: Float32Array[], o: number): void {
  for (let t0 = 0; t0 < nsamp; t0 += BLOCK) {
    const t1 = Math.min(nsamp, t0 + BLOCK);
    for (let k = 0; k < chans.length; k++) {
      const c = chans[k]!;
      const cal = cals[c]!;
      const row = out[k]!;
      for (let t = t0, i = t0 * nchan + c; t < t1; t++, i += nchan) row[o + t] = src[i]! * cal;
    }
  }
}
