import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { openAtomic, type AtomicFile } from "../atomic.js";
import { channelData, nChannels, nSamples } from "../../recording/recording.js";
import type { ChannelKind, Projector, Recording } from "../../recording/types.js";
import type { WriteOptions } from "../open.js";
import { FIFF, FIFF_UNIT_NAMES, FIFFB, FIFFC_VERSION, FIFFT, FIFFV_CH, FIFFV_COORD, FIFFV_NEXT_NONE, FIFFV_ROLE_NEXT_FILE, FIFFV_ROLE_PREV_FILE } from "./constants.js";
import { splitNameByNumber } from "./raw.js";
import { coordFrameForKind, DATE_NONE, type DigPoint, type FifChannel, type FifInfo } from "./info.js";
import type { FifHeader } from "./read.js";
import type { CoordTrans } from "./tag.js";

/** MNE's default split size, 2 GB: FIF offsets are signed 32-bit. */
export const FIF_SPLIT_SIZE = 2 * 1024 ** 3 - 1;
/** Room kept at the end of each part for the closing tags. */
const SPLIT_RESERVE = 4096;

export interface FifWriteOptions extends WriteOptions {
  /** Largest part in bytes before the file is split (default `FIF_SPLIT_SIZE`). */
  splitSize?: number;
}

/** Samples per data buffer MNE writes by default (`buffer_size_sec = 1`), as a count for this rate. */
function bufferSamples(sfreq: number): number {
  return Math.max(1, Math.ceil(sfreq));
}

const FIFF_KIND: Record<ChannelKind, number> = {
  eeg: FIFFV_CH.EEG,
  "meg-mag": FIFFV_CH.MEG,
  "meg-grad": FIFFV_CH.MEG,
  "meg-ref": FIFFV_CH.REF_MEG,
  seeg: FIFFV_CH.SEEG,
  ecog: FIFFV_CH.ECOG,
  dbs: FIFFV_CH.DBS,
  eog: FIFFV_CH.EOG,
  ecg: FIFFV_CH.ECG,
  emg: FIFFV_CH.EMG,
  stim: FIFFV_CH.STIM,
  resp: FIFFV_CH.RESP,
  bio: FIFFV_CH.BIO,
  temperature: FIFFV_CH.TEMPERATURE,
  misc: FIFFV_CH.MISC,
};
/** Unit text → `FIFF_UNIT_*` code (the inverse of the reader's names). */
const FIFF_UNIT: ReadonlyMap<string, number> = new Map(Object.entries(FIFF_UNIT_NAMES).filter(([, n]) => n !== "").map(([code, n]) => [n, Number(code)]));

/** FIF channel records for a Recording's channels: the file's own when it came from FIF, else made from kind, unit and sensor. */
function fifChannels(rec: Recording): FifChannel[] {
  const header = rec.source.format === "fif" ? (rec.source.header as FifHeader | undefined) : undefined;
  const byName = new Map(header?.info.channels.map((c) => [c.name, c]) ?? []);
  return rec.channels.map((c, i) => {
    const own = byName.get(c.name);
    if (own) return { ...own, loc: [...own.loc] };
    const kind = FIFF_KIND[c.kind];
    const loc = new Array<number>(12).fill(0);
    if (c.sensor && (c.kind === "eeg" || c.kind === "seeg" || c.kind === "ecog")) loc.splice(0, 3, ...c.sensor.position);
    return {
      scanNo: i + 1,
      logNo: i + 1,
      kind,
      range: 1,
      cal: 1,
      coilType: c.sensor?.coilType ?? (c.kind === "eeg" ? 1 : 0),
      loc,
      unit: FIFF_UNIT.get(c.unit) ?? (c.unit === "" ? 0 : -1),
      unitMul: 0,
      name: c.name,
      coordFrame: coordFrameForKind(kind),
    };
  });
}

/** Collects big-endian tags in memory (everything but the data buffers is small). */
class TagWriter {
  private chunks: Uint8Array[] = [];
  tag(kind: number, type: number, payload: Uint8Array, next = 0): void {
    const h = new DataView(new ArrayBuffer(16));
    h.setInt32(0, kind);
    h.setUint32(4, type);
    h.setInt32(8, payload.length);
    h.setInt32(12, next);
    this.chunks.push(new Uint8Array(h.buffer), payload);
  }
  ints(kind: number, v: readonly number[]): void {
    const b = new DataView(new ArrayBuffer(4 * v.length));
    v.forEach((x, i) => b.setInt32(4 * i, x));
    this.tag(kind, FIFFT.INT, new Uint8Array(b.buffer));
  }
  floats(kind: number, v: readonly number[]): void {
    const b = new DataView(new ArrayBuffer(4 * v.length));
    v.forEach((x, i) => b.setFloat32(4 * i, x));
    this.tag(kind, FIFFT.FLOAT, new Uint8Array(b.buffer));
  }
  doubles(kind: number, v: readonly number[]): void {
    const b = new DataView(new ArrayBuffer(8 * v.length));
    v.forEach((x, i) => b.setFloat64(8 * i, x));
    this.tag(kind, FIFFT.DOUBLE, new Uint8Array(b.buffer));
  }
  string(kind: number, s: string): void {
    this.tag(kind, FIFFT.STRING, Buffer.from(s, "latin1"));
  }
  nameList(kind: number, names: readonly string[]): void {
    this.string(kind, names.map((n) => n.replaceAll(":", "{COLON}")).join(":"));
  }
  start(block: number): void {
    this.ints(FIFF.BLOCK_START, [block]);
  }
  end(block: number): void {
    this.ints(FIFF.BLOCK_END, [block]);
  }
  /** An id struct; `time` null writes MNE's DATE_NONE so readers see no measurement date. */
  id(kind: number, time: readonly [number, number] | null): void {
    const b = new DataView(new ArrayBuffer(20));
    const machid = randomBytes(8);
    const [secs, usecs] = time ?? DATE_NONE;
    b.setInt32(0, FIFFC_VERSION);
    b.setInt32(4, machid.readInt32BE(0));
    b.setInt32(8, machid.readInt32BE(4));
    b.setInt32(12, secs);
    b.setInt32(16, usecs);
    this.tag(kind, FIFFT.ID_STRUCT, new Uint8Array(b.buffer));
  }
  floatMatrix(kind: number, rows: readonly (readonly number[])[]): void {
    const nrow = rows.length;
    const ncol = rows[0]?.length ?? 0;
    const b = new DataView(new ArrayBuffer(4 * nrow * ncol + 12));
    rows.forEach((r, i) => r.forEach((x, j) => b.setFloat32(4 * (i * ncol + j), x)));
    b.setInt32(4 * nrow * ncol, ncol);
    b.setInt32(4 * nrow * ncol + 4, nrow);
    b.setInt32(4 * nrow * ncol + 8, 2);
    this.tag(kind, FIFFT.MATRIX | FIFFT.FLOAT, new Uint8Array(b.buffer));
  }
  coordTrans(t: CoordTrans): void {
    const b = new DataView(new ArrayBuffer(104));
    b.setInt32(0, t.from);
    b.setInt32(4, t.to);
    t.rot.forEach((x, i) => b.setFloat32(8 + 4 * i, x));
    t.move.forEach((x, i) => b.setFloat32(44 + 4 * i, x));
    const r = t.rot;
    const inv = [r[0]!, r[3]!, r[6]!, r[1]!, r[4]!, r[7]!, r[2]!, r[5]!, r[8]!];
    inv.forEach((x, i) => b.setFloat32(56 + 4 * i, x));
    [0, 1, 2].forEach((i) => b.setFloat32(92 + 4 * i, -(inv[3 * i]! * t.move[0] + inv[3 * i + 1]! * t.move[1] + inv[3 * i + 2]! * t.move[2])));
    this.tag(FIFF.COORD_TRANS, FIFFT.COORD_TRANS_STRUCT, new Uint8Array(b.buffer));
  }
  digPoint(p: DigPoint): void {
    const b = new DataView(new ArrayBuffer(20));
    b.setInt32(0, p.kind);
    b.setInt32(4, p.ident);
    p.r.forEach((x, i) => b.setFloat32(8 + 4 * i, x));
    this.tag(FIFF.DIG_POINT, FIFFT.DIG_POINT_STRUCT, new Uint8Array(b.buffer));
  }
  chInfo(c: FifChannel, scanNo: number): void {
    const b = new DataView(new ArrayBuffer(96));
    b.setInt32(0, scanNo);
    b.setInt32(4, c.logNo);
    b.setInt32(8, c.kind);
    b.setFloat32(12, c.range);
    b.setFloat32(16, c.cal);
    b.setInt32(20, c.coilType);
    c.loc.forEach((x, i) => b.setFloat32(24 + 4 * i, x));
    b.setInt32(72, c.unit);
    b.setInt32(76, c.unitMul);
    const bytes = new Uint8Array(b.buffer);
    bytes.set(Buffer.from(c.name.slice(0, 15), "latin1"), 80);
    this.tag(FIFF.CH_INFO, FIFFT.CH_INFO_STRUCT, bytes);
  }
  /** Takes the bytes collected so far. */
  flush(): Uint8Array {
    const out = Buffer.concat(this.chunks);
    this.chunks = [];
    return out;
  }
}

function writeProjectors(w: TagWriter, projectors: readonly Projector[]): void {
  if (projectors.length === 0) return;
  w.start(FIFFB.PROJ);
  for (const p of projectors) {
    w.start(FIFFB.PROJ_ITEM);
    w.ints(FIFF.NCHAN, [p.channelNames.length]);
    w.nameList(FIFF.PROJ_ITEM_CH_NAME_LIST, p.channelNames);
    w.string(FIFF.NAME, p.description);
    w.ints(FIFF.PROJ_ITEM_KIND, [p.kind]);
    w.ints(FIFF.PROJ_ITEM_NVEC, [p.vectors.length]);
    w.ints(FIFF.MNE_PROJ_ITEM_ACTIVE, [p.active ? 1 : 0]);
    w.floatMatrix(FIFF.PROJ_ITEM_VECTORS, p.vectors);
    w.end(FIFFB.PROJ_ITEM);
  }
  w.end(FIFFB.PROJ);
}

/** The measurement info and annotations (everything before the raw data); returns the meas date written. */
function writeInfo(w: TagWriter, path: string, rec: Recording, chs: FifChannel[], cals: number[], opts: FifWriteOptions): [number, number] | null {
  const nc = chs.length;
  const header = rec.source.format === "fif" ? (rec.source.header as FifHeader | undefined) : undefined;
  const info: Partial<FifInfo> = header?.info ?? {};
  const names = new Set(rec.channels.map((c) => c.name));
  const projectors = (rec.projectors ?? []).filter((p) => {
    const ok = p.channelNames.every((n) => names.has(n));
    if (!ok) opts.onWarning?.({ code: "fif.projector-dropped", path, message: `projector "${p.description}" uses channels not written; left out` });
    return ok;
  });
  w.start(FIFFB.MEAS_INFO);
  if (info.dig?.length) {
    w.start(FIFFB.ISOTRAK);
    if (info.digCoordFrame !== undefined && info.digCoordFrame !== FIFFV_COORD.HEAD) w.ints(FIFF.MNE_COORD_FRAME, [info.digCoordFrame]);
    for (const p of info.dig) w.digPoint(p);
    w.end(FIFFB.ISOTRAK);
  }
  writeProjectors(w, projectors);
  if (rec.bads.length) {
    w.start(FIFFB.MNE_BAD_CHANNELS);
    w.nameList(FIFF.MNE_CH_NAME_LIST, rec.bads);
    w.end(FIFFB.MNE_BAD_CHANNELS);
  }
  let measDate: [number, number] | null = null;
  if (rec.startTime) {
    // meas_date is the time of acquisition sample 0, first_samp samples before the first kept sample.
    const back = rec.startTime.fraction - rec.firstSample / rec.sfreq;
    let secs = rec.startTime.unixSeconds + Math.floor(back);
    let usecs = Math.round((back - Math.floor(back)) * 1e6);
    if (usecs >= 1e6) {
      secs += 1;
      usecs -= 1e6;
    }
    w.ints(FIFF.MEAS_DATE, [secs, usecs]);
    measDate = [secs, usecs];
  }
  w.ints(FIFF.NCHAN, [nc]);
  w.floats(FIFF.SFREQ, [rec.sfreq]);
  w.floats(FIFF.LOWPASS, [info.lowpass ?? rec.sfreq / 2]);
  w.floats(FIFF.HIGHPASS, [info.highpass ?? 0]);
  if (info.lineFreq != null) w.floats(FIFF.LINE_FREQ, [info.lineFreq]);
  if (info.description) w.string(FIFF.DESCRIPTION, info.description);
  if (info.experimenter) w.string(FIFF.EXPERIMENTER, info.experimenter);
  if (info.devHeadT) w.coordTrans(info.devHeadT);
  chs.forEach((c, i) => w.chInfo({ ...c, range: 1, cal: cals[i]! }, i + 1));
  if (chs.some((c) => c.name.length > 15)) {
    // Names longer than the struct's 15 characters go in per-channel FIFFB_CH_INFO blocks, as MNE writes them.
    chs.forEach((c, i) => {
      w.start(FIFFB.CH_INFO);
      w.ints(FIFF.CH_SCAN_NO, [i + 1]);
      w.ints(FIFF.CH_LOGICAL_NO, [c.logNo]);
      w.ints(FIFF.CH_KIND, [c.kind]);
      w.floats(FIFF.CH_RANGE, [1]);
      w.floats(FIFF.CH_CAL, [cals[i]!]);
      w.ints(FIFF.CH_COIL_TYPE, [c.coilType]);
      w.floats(FIFF.CH_LOC, c.loc);
      w.ints(FIFF.CH_UNIT, [c.unit]);
      w.ints(FIFF.CH_UNIT_MUL, [c.unitMul]);
      w.string(FIFF.CH_DACQ_NAME, c.name);
      w.ints(FIFF.CH_COORD_FRAME, [c.coordFrame === FIFFV_COORD.UNKNOWN ? coordFrameForKind(c.kind) : c.coordFrame]);
      w.end(FIFFB.CH_INFO);
    });
  }
  w.end(FIFFB.MEAS_INFO);
  if (rec.annotations.length) {
    const shift = rec.firstSample / rec.sfreq;
    w.start(FIFFB.MNE_ANNOTATIONS);
    w.doubles(FIFF.MNE_BASELINE_MIN, rec.annotations.map((a) => a.onset + shift));
    w.doubles(FIFF.MNE_BASELINE_MAX, rec.annotations.map((a) => a.onset + shift + (a.duration ?? 0)));
    w.nameList(FIFF.COMMENT, rec.annotations.map((a) => a.description));
    if (measDate) w.doubles(FIFF.MEAS_DATE, measDate);
    if (rec.annotations.some((a) => a.channels?.length)) w.string(FIFF.MNE_EPOCHS_DROP_LOG, JSON.stringify(rec.annotations.map((a) => a.channels ?? [])));
    w.end(FIFFB.MNE_ANNOTATIONS);
  }
  return measDate;
}

/**
 * Writes a Recording as a raw FIF file that MNE reads back with the same
 * channels (kinds, coil types, loc, units, cal; range reset to 1 as MNE does
 * for float data), bads, dev_head_t, meas date, filters, projectors and
 * annotations, and digitisation points. Data are float32 buffers of one second
 * (stored = value / cal), so values keep float32 precision. HPI, SSS and CTF
 * compensation blocks are not written. Files larger than `splitSize` are
 * split MNE's way (`x_raw.fif`, `x_raw-1.fif`... linked by FIFFB_REF blocks).
 * Written atomically: no part appears until all are complete.
 */
export function writeFif(path: string, rec: Recording, opts: FifWriteOptions = {}): void {
  const nc = nChannels(rec);
  const ns = nSamples(rec);
  const chs = fifChannels(rec);
  const cals = chs.map((c) => (Number.isFinite(c.cal) && c.cal !== 0 ? c.cal : 1));
  const w = new TagWriter();
  const measDate = writeInfo(w, path, rec, chs, cals, opts);
  const infoBytes = w.flush();

  const rows = Array.from({ length: nc }, (_, c) => channelData(rec, c));
  const inv = cals.map((c) => 1 / c);
  const step = bufferSamples(rec.sfreq);
  const splitSize = opts.splitSize ?? FIF_SPLIT_SIZE;
  const files: AtomicFile[] = [];
  try {
    let s0 = 0;
    let prev: string | null = null;
    do {
      const partPath = files.length === 0 ? path : splitNameByNumber(path, files.length);
      const file = openAtomic(partPath);
      files.push(file);
      // Ids carry the measurement date: MNE falls back to them when FIFF_MEAS_DATE is absent.
      w.id(FIFF.FILE_ID, measDate);
      w.ints(FIFF.DIR_POINTER, [-1]);
      w.start(FIFFB.MEAS);
      w.id(FIFF.BLOCK_ID, measDate);
      const head = w.flush();
      file.write(head);
      file.write(infoBytes);
      let written = head.length + infoBytes.length;
      w.start(FIFFB.RAW_DATA);
      w.ints(FIFF.FIRST_SAMPLE, [rec.firstSample + s0]);
      if (prev !== null) refBlock(w, FIFFV_ROLE_PREV_FILE, prev, files.length - 2);
      // Each buffer is written as soon as it is encoded: memory stays at one buffer, whatever the length.
      do {
        const n = Math.min(step, ns - s0);
        const payload = new Float32Array(n * nc);
        for (let c = 0; c < nc; c++) {
          const row = rows[c]!;
          const k = inv[c]!;
          for (let t = 0, i = c; t < n; t++, i += nc) payload[i] = row[s0 + t]! * k;
        }
        Buffer.from(payload.buffer).swap32();
        w.tag(FIFF.DATA_BUFFER, FIFFT.FLOAT, new Uint8Array(payload.buffer));
        const bytes = w.flush();
        file.write(bytes);
        written += bytes.length;
        s0 += n;
      } while (s0 < ns && written + step * nc * 4 + 16 + SPLIT_RESERVE <= splitSize);
      if (s0 < ns) {
        prev = basename(partPath);
        refBlock(w, FIFFV_ROLE_NEXT_FILE, basename(splitNameByNumber(path, files.length)), files.length);
      }
      w.end(FIFFB.RAW_DATA);
      w.end(FIFFB.MEAS);
      w.tag(FIFF.NOP, FIFFT.VOID, new Uint8Array(0), FIFFV_NEXT_NONE);
      file.write(w.flush());
    } while (s0 < ns);
    files.forEach((f) => f.commit());
  } catch (e) {
    files.forEach((f) => f.abort());
    throw e;
  }
}

function refBlock(w: TagWriter, role: number, name: string, num: number): void {
  w.start(FIFFB.REF);
  w.ints(FIFF.REF_ROLE, [role]);
  w.string(FIFF.REF_FILE_NAME, name);
  w.ints(FIFF.REF_FILE_NUM, [num]);
  w.end(FIFFB.REF);
}
