import { FormatError } from "../../errors.js";
import { FIFFT } from "./constants.js";
import type { FifSource } from "./source.js";

/** A tag header: 16 big-endian bytes before each payload. */
export interface TagHeader {
  kind: number;
  type: number;
  /** Payload bytes. */
  size: number;
  /** 0: the next tag follows; -1: last tag; >0: absolute offset of the next tag. */
  next: number;
  /** Byte offset of the header in the file. */
  pos: number;
}

export const TAG_HEADER_BYTES = 16;

/** Reads and bounds-checks the tag header at `pos`. */
export function readTagHeader(src: FifSource, pos: number): TagHeader {
  if (!Number.isInteger(pos) || pos < 0 || pos + TAG_HEADER_BYTES > src.size) {
    throw new FormatError({ path: src.path, field: "tag header", offset: pos }, `tag header runs past the end of the file (${src.size} bytes)`);
  }
  const b = src.read(pos, TAG_HEADER_BYTES);
  const dv = new DataView(b.buffer, b.byteOffset, TAG_HEADER_BYTES);
  const tag = { kind: dv.getInt32(0), type: dv.getUint32(4), size: dv.getInt32(8), next: dv.getInt32(12), pos };
  if (tag.size < 0) throw new FormatError({ path: src.path, field: `tag ${tag.kind}.size`, offset: pos + 8 }, `negative size ${tag.size}`);
  if (pos + TAG_HEADER_BYTES + tag.size > src.size) {
    throw new FormatError(
      { path: src.path, field: `tag ${tag.kind}.size`, offset: pos + 8 },
      `payload of ${tag.size} bytes runs past the end of the file (${src.size} bytes)`,
    );
  }
  return tag;
}

/** A decoded payload with enough context to report errors about it. */
export interface TagData {
  tag: { kind: number; type: number; size: number; pos: number };
  path: string;
  bytes: Uint8Array;
  view: DataView;
}

/** Reads the payload of a tag (header already checked by `readTagHeader`). */
export function readTagData(src: FifSource, tag: { kind: number; type: number; size: number; pos: number }): TagData {
  // Copy: the source may hand out a view of a scratch buffer that the next read overwrites.
  const bytes = src.read(tag.pos + TAG_HEADER_BYTES, tag.size).slice();
  return { tag, path: src.path, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

function fail(d: TagData, reason: string): never {
  throw new FormatError({ path: d.path, field: `tag ${d.tag.kind}`, offset: d.tag.pos }, reason);
}

const ELEMENT_BYTES: Record<number, number> = {
  [FIFFT.BYTE]: 1,
  [FIFFT.SHORT]: 2,
  [FIFFT.USHORT]: 2,
  [FIFFT.DAU_PACK16]: 2,
  [FIFFT.INT]: 4,
  [FIFFT.UINT]: 4,
  [FIFFT.JULIAN]: 4,
  [FIFFT.FLOAT]: 4,
  [FIFFT.DOUBLE]: 8,
};

function readElement(dv: DataView, type: number, off: number): number {
  switch (type) {
    case FIFFT.BYTE:
      return dv.getUint8(off);
    case FIFFT.SHORT:
    case FIFFT.DAU_PACK16:
      return dv.getInt16(off);
    case FIFFT.USHORT:
      return dv.getUint16(off);
    case FIFFT.INT:
    case FIFFT.JULIAN:
      return dv.getInt32(off);
    case FIFFT.UINT:
      return dv.getUint32(off);
    case FIFFT.FLOAT:
      return dv.getFloat32(off);
    default:
      return dv.getFloat64(off);
  }
}

/** The payload as numbers, whatever its numeric element type (int, float, double...). */
export function tagNumbers(d: TagData): number[] {
  const size = ELEMENT_BYTES[d.tag.type];
  if (size === undefined) fail(d, `expected a numeric type, got type ${d.tag.type}`);
  if (d.tag.size % size !== 0) fail(d, `size ${d.tag.size} is not a multiple of ${size}`);
  const out = new Array<number>(d.tag.size / size);
  for (let i = 0; i < out.length; i++) out[i] = readElement(d.view, d.tag.type, i * size);
  return out;
}

/** The payload as a single number. */
export function tagNumber(d: TagData): number {
  const v = tagNumbers(d);
  if (v.length < 1) fail(d, "empty numeric tag");
  return v[0]!;
}

/** The payload as a latin-1 string (trailing NULs removed). */
export function tagString(d: TagData): string {
  if (d.tag.type !== FIFFT.STRING) fail(d, `expected a string (type ${FIFFT.STRING}), got type ${d.tag.type}`);
  return Buffer.from(d.bytes).toString("latin1").replace(/\0+$/, "");
}

/** A `:`-joined name list (MNE escapes `:` inside names as `{COLON}`). */
export function tagNameList(d: TagData): string[] {
  const s = tagString(d);
  if (s === "") return [];
  return s.split(":").map((n) => n.replaceAll("{COLON}", ":"));
}

/** A dense matrix (`FIFFT_MATRIX | element type`): data, then dims in reverse order, then ndim. Returns rows. */
export function tagMatrix(d: TagData): number[][] {
  const coding = d.tag.type & 0xffff0000;
  const elem = d.tag.type & 0xffff;
  if (coding !== FIFFT.MATRIX) fail(d, `expected a dense matrix, got type 0x${d.tag.type.toString(16)}`);
  const size = ELEMENT_BYTES[elem];
  if (size === undefined || d.tag.size < 4) fail(d, `unsupported matrix element type ${elem}`);
  const ndim = d.view.getInt32(d.tag.size - 4);
  if (ndim !== 2) fail(d, `expected a 2-D matrix, got ndim ${ndim}`);
  if (d.tag.size < 12) fail(d, "matrix too short for its dimensions");
  const ncol = d.view.getInt32(d.tag.size - 12);
  const nrow = d.view.getInt32(d.tag.size - 8);
  if (nrow < 0 || ncol < 0 || nrow * ncol * size + 12 !== d.tag.size) {
    fail(d, `matrix ${nrow}×${ncol} of ${size}-byte elements does not fill ${d.tag.size} bytes`);
  }
  const rows: number[][] = [];
  for (let r = 0; r < nrow; r++) {
    const row = new Array<number>(ncol);
    for (let c = 0; c < ncol; c++) row[c] = readElement(d.view, elem, (r * ncol + c) * size);
    rows.push(row);
  }
  return rows;
}

/** A coordinate transformation: rotation (row-major 3×3) and translation (metres). */
export interface CoordTrans {
  from: number;
  to: number;
  /** Rotation, row-major. */
  rot: number[];
  /** Translation in metres. */
  move: [number, number, number];
}

/** Decodes a `FIFFT_COORD_TRANS_STRUCT` (the inverse part is not kept: it is recomputed when needed). */
export function tagCoordTrans(d: TagData): CoordTrans {
  if (d.tag.type !== FIFFT.COORD_TRANS_STRUCT || d.tag.size < 104) fail(d, `expected a coord_trans struct (type 35, 104 bytes), got type ${d.tag.type}, ${d.tag.size} bytes`);
  const f = (i: number) => d.view.getFloat32(8 + 4 * i);
  return {
    from: d.view.getInt32(0),
    to: d.view.getInt32(4),
    rot: Array.from({ length: 9 }, (_, i) => f(i)),
    move: [f(9), f(10), f(11)],
  };
}
