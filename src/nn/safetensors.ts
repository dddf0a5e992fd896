import { readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { FormatError, ValueError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import type { HostTensor } from "./module.js";

/** Element types of safetensors files and their sizes in bytes. */
const ITEM_SIZE: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** One tensor of a checkpoint file, before decoding: name, stored dtype, shape and where its bytes are. */
export interface TensorEntry {
  name: string;
  /** Stored element type (`F32`, `F16`, `BF16`, `I64`, ... as safetensors names them). */
  dtype: string;
  shape: number[];
  /** Decodes the values into a host tensor (float types → float32, integers → int32, BOOL → bool). */
  read(): HostTensor;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** Tensors in file order. */
  tensors: TensorEntry[];
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

/** Reads and validates a safetensors file (see `parseSafetensors`). */
export function readSafetensors(path: string): SafetensorsFile {
  return parseSafetensors(new Uint8Array(readFileSync(path)), path);
}

/**
 * Parses safetensors bytes: an 8-byte little-endian header length, a JSON
 * header mapping names to `{dtype, shape, data_offsets}` (offsets relative to
 * the end of the header), then the raw little-endian data. Every field is
 * validated (known dtype, integer shape, offsets inside the file, size equal to
 * numel × item size, no overlaps); problems throw `FormatError` with the field
 * and absolute byte offset.
 */
export function parseSafetensors(bytes: Uint8Array, path = "<buffer>"): SafetensorsFile {
  const err = (field: string, reason: string, offset?: number): FormatError => new FormatError({ path, field, offset }, reason);
  if (bytes.length < 8) throw err("header length", `file has ${bytes.length} bytes, needs at least 8`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) throw err("header length", `header of ${headerLen} bytes runs past the end of the ${bytes.length}-byte file`, 0);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw err("header", `not valid UTF-8 JSON (${(e as Error).message})`, 8);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw err("header", "not a JSON object", 8);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: TensorEntry[] = [];
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null) throw err("__metadata__", "not an object", 8);
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") throw err(`__metadata__.${k}`, "metadata values must be strings", 8);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const field = `tensors.${name}`;
    if (typeof e !== "object" || e === null) throw err(field, "not an object", 8);
    if (typeof e.dtype !== "string" || !(e.dtype in ITEM_SIZE)) throw err(`${field}.dtype`, `unsupported dtype ${JSON.stringify(e.dtype)}`, 8);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw err(`${field}.shape`, `invalid shape ${JSON.stringify(e.shape)}`, 8);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) {
      throw err(`${field}.data_offsets`, `invalid offsets ${JSON.stringify(off)}`, 8);
    }
    const [begin, end] = off as [number, number];
    if (end > dataLen) throw err(`${field}.data_offsets`, `end ${end} is past the data section (${dataLen} bytes)`, dataStart + begin);
    const shape = e.shape as number[];
    const numel = shape.reduce((a, b) => a * b, 1);
    const dtype = e.dtype;
    if (end - begin !== numel * ITEM_SIZE[dtype]!) {
      throw err(`${field}.data_offsets`, `${end - begin} bytes for ${numel} ${dtype} elements (needs ${numel * ITEM_SIZE[dtype]!})`, dataStart + begin);
    }
    spans.push([begin, end, name]);
    const abs = dataStart + begin;
    tensors.push({ name, dtype, shape, read: () => decode(bytes.subarray(abs, dataStart + end), dtype, shape, { path, field, offset: abs }) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw err(`tensors.${spans[i]![2]}.data_offsets`, `overlaps tensor ${spans[i - 1]![2]}`, dataStart + spans[i]![0]);
  }
  return { tensors, metadata };
}

/**
 * Decodes little-endian raw values of a stored dtype into a host tensor.
 * Floats (F64/F16/BF16) become float32; integers become int32 (an I64 value
 * outside the int32 range throws `FormatError`); BOOL becomes bool.
 */
export function decode(raw: Uint8Array, dtype: string, shape: number[], where: { path: string; field: string; offset?: number }): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dtype) {
    case "F32": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return { shape, dtype: "float32", data: out };
    }
    case "F64": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return { shape, dtype: "float32", data: out };
    }
    case "F16": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return { shape, dtype: "float32", data: out };
    }
    case "BF16": {
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return { shape, dtype: "float32", data: out };
    }
    case "I64": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) throw new FormatError({ ...where, offset: (where.offset ?? 0) + 8 * i }, `int64 value ${v} does not fit int32`);
        out[i] = Number(v);
      }
      return { shape, dtype: "int32", data: out };
    }
    case "I32":
    case "I16":
    case "I8":
    case "U8": {
      const out = new Int32Array(n);
      const size = ITEM_SIZE[dtype]!;
      for (let i = 0; i < n; i++) {
        out[i] = dtype === "I32" ? dv.getInt32(4 * i, true) : dtype === "I16" ? dv.getInt16(2 * i, true) : dtype === "I8" ? dv.getInt8(i) : dv.getUint8(i * size);
      }
      return { shape, dtype: "int32", data: out };
    }
    case "BOOL":
      return { shape, dtype: "bool", data: Uint8Array.from(raw.subarray(0, n), (b) => (b ? 1 : 0)) };
    default:
      throw new FormatError(where, `unsupported dtype ${dtype}`);
  }
}

/** IEEE 754 binary16 → number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const STORED: Record<string, string> = { float32: "F32", int32: "I32", bool: "BOOL" };

/**
 * Serialises tensors (tfjs or host) as safetensors bytes with `metadata` in
 * `__metadata__`. float32 → F32, int32 → I32, bool → BOOL; names keep their order.
 */
export function serializeSafetensors(tensors: Map<string, tf.Tensor | HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const blobs: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of tensors) {
    const dtype = STORED[t.dtype];
    if (!dtype) throw new ValueError(`${name}: cannot store dtype ${t.dtype} in safetensors`);
    const values = t instanceof tf.Tensor ? t.dataSync() : t.data;
    const blob = toLittleEndian(values as Float32Array | Int32Array | Uint8Array, dtype);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [off, off + blob.length] };
    blobs.push(blob);
    off += blob.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const b of blobs) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

function toLittleEndian(values: Float32Array | Int32Array | Uint8Array, dtype: string): Uint8Array {
  const n = values.length;
  if (dtype === "BOOL") return Uint8Array.from(values, (v) => (v ? 1 : 0));
  const out = new Uint8Array(n * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    if (dtype === "F32") dv.setFloat32(4 * i, values[i]!, true);
    else dv.setInt32(4 * i, values[i]!, true);
  }
  return out;
}

/** Writes tensors to `path` as safetensors, atomically (temporary file + rename). */
export function writeSafetensors(path: string, tensors: Map<string, tf.Tensor | HostTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
