import { FormatError } from "../../errors.js";
import type { Projector } from "../../recording/types.js";
import { FIFF, FIFFB, FIFFT, FIFFV_CH, FIFFV_COORD } from "./constants.js";
import { readTagData, tagCoordTrans, tagMatrix, tagNameList, tagNumber, tagNumbers, tagString, type CoordTrans, type TagData } from "./tag.js";
import { findBlocks, findEntry, type DirEntry, type FifNode } from "./tree.js";
import type { FifSource } from "./source.js";

/** One `FIFF_CH_INFO` record, as stored (MNE's `info["chs"][i]`). */
export interface FifChannel {
  scanNo: number;
  logNo: number;
  /** `FIFFV_*_CH` channel kind. */
  kind: number;
  /** Range factor (stored × range × cal = value in `unit`). */
  range: number;
  /** Calibration factor. */
  cal: number;
  /** `FIFFV_COIL_*`, with the CTF compensation grade in bits 16 and up. */
  coilType: number;
  /** r0[3], ex[3], ey[3], ez[3]: coil position (m) and axes (MEG, device frame); EEG electrode and reference (m, head frame). */
  loc: number[];
  /** `FIFF_UNIT_*` code. */
  unit: number;
  /** Power of ten of the unit. */
  unitMul: number;
  name: string;
  /** `FIFFV_COORD_*` frame of `loc`, implied by the kind as MNE does. */
  coordFrame: number;
}


/** A CTF compensation matrix (`FIFFB_MNE_CTF_COMP_DATA`), read as stored. */
export interface CtfCompensation {
  /** `FIFF_MNE_CTF_COMP_KIND` as stored (CTF kind code or grade). */
  kind: number;
  calibrated: boolean;
  rowNames: string[];
  colNames: string[];
  data: number[][];
}

/** A digitised point (`FIFFT_DIG_POINT_STRUCT` in the ISOTRAK block). */
export interface DigPoint {
  /** `FIFFV_POINT_*`: 1 cardinal, 2 HPI, 3 EEG, 4 extra. */
  kind: number;
  /** Number within the kind (cardinals: 1 LPA, 2 nasion, 3 RPA). */
  ident: number;
  /** Position in metres, in `FifInfo.digCoordFrame`. */
  r: [number, number, number];
}

/** The measurement info of a FIF file (MNE's `Info`, the parts neurocode keeps). */
export interface FifInfo {
  nchan: number;
  /** Sampling rate in Hz. */
  sfreq: number;
  channels: FifChannel[];
  bads: string[];
  /** Device → head transform (MEG), or null. */
  devHeadT: CoordTrans | null;
  /** Seconds and microseconds since 1970 UTC, or null. */
  measDate: [number, number] | null;
  /** Hz, or null. */
  lineFreq: number | null;
  /** Hz, or null when absent or NaN. */
  highpass: number | null;
  /** Hz, or null when absent or NaN. */
  lowpass: number | null;
  projectors: Projector[];
  ctfCompensations: CtfCompensation[];
  /** Digitised head points (fiducials, HPI coils, EEG electrodes, head shape), or empty. */
  dig: DigPoint[];
  /** `FIFFV_COORD_*` frame of `dig` (head unless the block says otherwise). */
  digCoordFrame: number;
  description: string | null;
  experimenter: string | null;
}

/** MNE's (secs, usecs) marking "no measurement date" (anonymised files, and ids written without a date). */
export const DATE_NONE: readonly [number, number] = [0, 2 ** 31 - 1];

/** Bytes of one `FIFFT_CH_INFO_STRUCT`. */
export const CH_INFO_BYTES = 96;

const HEAD_FRAME_KINDS: ReadonlySet<number> = new Set([FIFFV_CH.EEG, FIFFV_CH.ECOG, FIFFV_CH.SEEG, FIFFV_CH.DBS, FIFFV_CH.FNIRS]);

/** The coordinate frame MNE assigns to a channel's `loc` from its kind. */
export function coordFrameForKind(kind: number): number {
  if (kind === FIFFV_CH.MEG || kind === FIFFV_CH.REF_MEG) return FIFFV_COORD.DEVICE;
  return HEAD_FRAME_KINDS.has(kind) ? FIFFV_COORD.HEAD : FIFFV_COORD.UNKNOWN;
}

function decodeChInfo(d: TagData): FifChannel {
  if (d.tag.type !== FIFFT.CH_INFO_STRUCT || d.tag.size < CH_INFO_BYTES) {
    throw new FormatError({ path: d.path, field: "FIFF_CH_INFO", offset: d.tag.pos }, `expected a ${CH_INFO_BYTES}-byte ch_info struct, got type ${d.tag.type}, ${d.tag.size} bytes`);
  }
  const v = d.view;
  const kind = v.getInt32(8);
  const nameBytes = d.bytes.subarray(80, 96);
  const nul = nameBytes.indexOf(0);
  return {
    scanNo: v.getInt32(0),
    logNo: v.getInt32(4),
    kind,
    range: v.getFloat32(12),
    cal: v.getFloat32(16),
    coilType: v.getInt32(20),
    loc: Array.from({ length: 12 }, (_, i) => v.getFloat32(24 + 4 * i)),
    unit: v.getInt32(72),
    unitMul: v.getInt32(76),
    name: Buffer.from(nul < 0 ? nameBytes : nameBytes.subarray(0, nul)).toString("latin1"),
    coordFrame: coordFrameForKind(kind),
  };
}

/** Applies a `FIFFB_CH_INFO` block (long names and other per-field overrides, as MNE does). */
function applyExtendedChInfo(src: FifSource, ch: FifChannel, node: FifNode): void {
  for (const e of node.entries) {
    const d = readTagData(src, e);
    switch (e.kind) {
      case FIFF.CH_SCAN_NO: ch.scanNo = tagNumber(d); break;
      case FIFF.CH_LOGICAL_NO: ch.logNo = tagNumber(d); break;
      case FIFF.CH_KIND: ch.kind = tagNumber(d); break;
      case FIFF.CH_RANGE: ch.range = tagNumber(d); break;
      case FIFF.CH_CAL: ch.cal = tagNumber(d); break;
      case FIFF.CH_COIL_TYPE: ch.coilType = tagNumber(d); break;
      case FIFF.CH_LOC: ch.loc = tagNumbers(d).slice(0, 12); break;
      case FIFF.CH_UNIT: ch.unit = tagNumber(d); break;
      case FIFF.CH_UNIT_MUL: ch.unitMul = tagNumber(d); break;
      case FIFF.CH_DACQ_NAME: ch.name = tagString(d); break;
      case FIFF.CH_COORD_FRAME: ch.coordFrame = tagNumber(d); break;
      default: break;
    }
  }
}

function invert(t: CoordTrans): CoordTrans {
  const r = t.rot;
  // The inverse of a rotation is its transpose; translation becomes -Rᵀ·move.
  const rt = [r[0]!, r[3]!, r[6]!, r[1]!, r[4]!, r[7]!, r[2]!, r[5]!, r[8]!];
  const m = t.move;
  const move: [number, number, number] = [0, 1, 2].map((i) => -(rt[3 * i]! * m[0] + rt[3 * i + 1]! * m[1] + rt[3 * i + 2]! * m[2])) as [number, number, number];
  return { from: t.to, to: t.from, rot: rt, move };
}

/** Seconds and microseconds of a `FIFFT_ID_STRUCT` tag of `kind` directly in `node`. */
export function idTime(src: FifSource, node: FifNode, kind: number): [number, number] | null {
  const e = findEntry(node, kind);
  if (!e) return null;
  const d = readTagData(src, e);
  if (d.tag.type !== FIFFT.ID_STRUCT || d.tag.size < 20) throw new FormatError({ path: src.path, field: `tag ${kind}`, offset: e.pos }, `expected a 20-byte id struct, got type ${d.tag.type}`);
  return [d.view.getInt32(12), d.view.getInt32(16)];
}

function read(src: FifSource, e: DirEntry): TagData {
  return readTagData(src, e);
}

function readProjectors(src: FifSource, meas: FifNode): Projector[] {
  const out: Projector[] = [];
  for (const proj of findBlocks(meas, FIFFB.PROJ)) {
    for (const item of findBlocks(proj, FIFFB.PROJ_ITEM)) {
      const get = (kind: number) => {
        const e = findEntry(item, kind);
        return e ? read(src, e) : undefined;
      };
      const vecTag = get(FIFF.PROJ_ITEM_VECTORS);
      const namesTag = get(FIFF.PROJ_ITEM_CH_NAME_LIST);
      if (!vecTag || !namesTag) {
        throw new FormatError({ path: src.path, field: "projector", offset: item.entries[0]?.pos }, "projection item without vectors or channel names");
      }
      const desc = get(FIFF.NAME) ?? get(FIFF.DESCRIPTION);
      const kindTag = get(FIFF.PROJ_ITEM_KIND);
      const activeTag = get(FIFF.MNE_PROJ_ITEM_ACTIVE);
      const vectors = tagMatrix(vecTag);
      const channelNames = tagNameList(namesTag);
      if (vectors.some((v) => v.length !== channelNames.length)) {
        throw new FormatError({ path: src.path, field: "projector vectors", offset: vecTag.tag.pos }, `vectors have ${vectors[0]?.length} columns for ${channelNames.length} channel names`);
      }
      out.push({
        description: desc ? tagString(desc) : "",
        kind: kindTag ? tagNumber(kindTag) : 0,
        active: activeTag ? tagNumber(activeTag) !== 0 : false,
        channelNames,
        vectors,
      });
    }
  }
  return out;
}

function readDig(src: FifSource, node: FifNode): { dig: DigPoint[]; digCoordFrame: number } {
  const out: { dig: DigPoint[]; digCoordFrame: number } = { dig: [], digCoordFrame: FIFFV_COORD.HEAD };
  const isotrak = findBlocks(node, FIFFB.ISOTRAK)[0];
  for (const e of isotrak?.entries ?? []) {
    const d = read(src, e);
    if (e.kind === FIFF.MNE_COORD_FRAME) out.digCoordFrame = tagNumber(d);
    else if (e.kind === FIFF.DIG_POINT) {
      if (d.tag.type !== FIFFT.DIG_POINT_STRUCT || d.tag.size < 20) throw new FormatError({ path: src.path, field: "FIFF_DIG_POINT", offset: e.pos }, `expected a 20-byte dig point, got type ${d.tag.type}`);
      out.dig.push({ kind: d.view.getInt32(0), ident: d.view.getInt32(4), r: [d.view.getFloat32(8), d.view.getFloat32(12), d.view.getFloat32(16)] });
    }
  }
  return out;
}

function readCtfComps(src: FifSource, meas: FifNode): CtfCompensation[] {
  return findBlocks(meas, FIFFB.MNE_CTF_COMP_DATA).map((node) => {
    const kindE = findEntry(node, FIFF.MNE_CTF_COMP_KIND);
    const matNode = node.children.find((c) => c.block === FIFFB.MNE_NAMED_MATRIX && findEntry(c, FIFF.MNE_CTF_COMP_DATA)) ?? node;
    const dataE = findEntry(matNode, FIFF.MNE_CTF_COMP_DATA);
    if (!kindE || !dataE) throw new FormatError({ path: src.path, field: "ctf compensation", offset: node.entries[0]?.pos }, "compensation block without kind or data");
    const names = (kind: number) => {
      const e = findEntry(matNode, kind);
      return e ? tagNameList(read(src, e)) : [];
    };
    const calE = findEntry(node, FIFF.MNE_CTF_COMP_CALIBRATED);
    return {
      kind: tagNumber(read(src, kindE)),
      calibrated: calE ? tagNumber(read(src, calE)) !== 0 : false,
      rowNames: names(FIFF.MNE_ROW_NAMES),
      colNames: names(FIFF.MNE_COL_NAMES),
      data: tagMatrix(read(src, dataE)),
    };
  });
}

/**
 * Reads the measurement info under `meas` (the `FIFFB_MEAS` block, or the
 * root for files without one), with MNE's rules: exactly one MEAS_INFO; NCHAN,
 * SFREQ and NCHAN channel records required; dev_head_t from MEAS_INFO (a
 * head→device transform is inverted) or else from HPI_RESULT.
 * Without a measurement date the time of the block ids is used, as MNE does.
 */
export function readMeasInfo(src: FifSource, meas: FifNode, fileIdTime: [number, number] | null = null): FifInfo {
  const infos = findBlocks(meas, FIFFB.MEAS_INFO);
  const err = (field: string, reason: string, offset?: number) => new FormatError({ path: src.path, field, offset }, reason);
  if (infos.length !== 1) throw err("measurement info", infos.length === 0 ? "no FIFFB_MEAS_INFO block" : `${infos.length} FIFFB_MEAS_INFO blocks, expected one`);
  const node = infos[0]!;
  let nchan: number | null = null;
  let sfreq: number | null = null;
  const channels: FifChannel[] = [];
  let devHeadT: CoordTrans | null = null;
  let measDate: [number, number] | null = null;
  let lineFreq: number | null = null;
  let highpass: number | null = null;
  let lowpass: number | null = null;
  let description: string | null = null;
  let experimenter: string | null = null;
  for (const e of node.entries) {
    switch (e.kind) {
      case FIFF.NCHAN: nchan = tagNumber(read(src, e)); break;
      case FIFF.SFREQ: sfreq = tagNumber(read(src, e)); break;
      case FIFF.CH_INFO: channels.push(decodeChInfo(read(src, e))); break;
      case FIFF.LOWPASS: { const v = tagNumber(read(src, e)); lowpass = Number.isNaN(v) ? null : v; break; }
      case FIFF.HIGHPASS: { const v = tagNumber(read(src, e)); highpass = Number.isNaN(v) ? null : v; break; }
      case FIFF.LINE_FREQ: lineFreq = tagNumber(read(src, e)); break;
      case FIFF.MEAS_DATE: { const v = tagNumbers(read(src, e)); measDate = [v[0] ?? 0, v[1] ?? 0]; break; }
      case FIFF.DESCRIPTION: description = tagString(read(src, e)); break;
      case FIFF.EXPERIMENTER: experimenter = tagString(read(src, e)); break;
      case FIFF.COORD_TRANS: {
        const t = tagCoordTrans(read(src, e));
        if (t.from === FIFFV_COORD.DEVICE && t.to === FIFFV_COORD.HEAD) devHeadT = t;
        else if (t.from === FIFFV_COORD.HEAD && t.to === FIFFV_COORD.DEVICE) devHeadT = invert(t);
        break;
      }
      default: break;
    }
  }
  const ext = findBlocks(node, FIFFB.CH_INFO);
  if (ext.length > 0) {
    if (ext.length !== channels.length) throw err("FIFFB_CH_INFO", `${ext.length} extended channel blocks for ${channels.length} channels`);
    ext.forEach((n, i) => applyExtendedChInfo(src, channels[i]!, n));
  }
  if (nchan === null) throw err("FIFF_NCHAN", "number of channels is not defined");
  if (sfreq === null) throw err("FIFF_SFREQ", "sampling frequency is not defined");
  if (!(sfreq > 0) || !Number.isFinite(sfreq)) throw err("FIFF_SFREQ", `sampling frequency ${sfreq} is not a positive number`);
  if (channels.length !== nchan) throw err("FIFF_CH_INFO", `${channels.length} channel records for nchan = ${nchan}`);
  if (devHeadT === null) {
    const hpi = findBlocks(node, FIFFB.HPI_RESULT);
    if (hpi.length === 1) {
      for (const e of hpi[0]!.entries) {
        if (e.kind !== FIFF.COORD_TRANS) continue;
        const t = tagCoordTrans(read(src, e));
        if (t.from === FIFFV_COORD.DEVICE && t.to === FIFFV_COORD.HEAD && devHeadT === null) devHeadT = t;
      }
    }
  }
  // Without FIFF_MEAS_DATE, MNE takes the time of the most specific block id (MEAS_INFO, MEAS, then the file id).
  measDate ??= idTime(src, node, FIFF.PARENT_BLOCK_ID) ?? idTime(src, node, FIFF.BLOCK_ID) ?? idTime(src, meas, FIFF.BLOCK_ID) ?? idTime(src, meas, FIFF.PARENT_BLOCK_ID) ?? fileIdTime;
  if (measDate && measDate[0] === DATE_NONE[0] && measDate[1] === DATE_NONE[1]) measDate = null;
  const names = new Set(channels.map((c) => c.name));
  const bads: string[] = [];
  for (const b of findBlocks(meas, FIFFB.MNE_BAD_CHANNELS)) {
    const e = findEntry(b, FIFF.MNE_CH_NAME_LIST);
    // MNE drops bad names that are not channels (clean_bads=True).
    if (e) for (const n of tagNameList(read(src, e))) if (names.has(n) && !bads.includes(n)) bads.push(n);
  }
  return {
    nchan,
    sfreq,
    channels,
    bads,
    devHeadT,
    measDate,
    lineFreq,
    highpass,
    lowpass,
    projectors: readProjectors(src, node),
    ctfCompensations: readCtfComps(src, node),
    ...readDig(src, node),
    description,
    experimenter,
  };
}
