import { readFileSync } from "node:fs";
import { FormatError, ValueError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";

/** Element types `.npy` files carry here (NumPy dtype names). */
export type NpyDtype = "float32" | "float64" | "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64";

type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** An n-dimensional array in C order. */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: TypedArray;
}

const DESCR: Record<NpyDtype, { code: string; size: number; ctor: { new (b: ArrayBuffer, o: number, n: number): TypedArray; new (n: number): TypedArray } }> = {
  float32: { code: "f4", size: 4, ctor: Float32Array },
  float64: { code: "f8", size: 8, ctor: Float64Array },
  int8: { code: "i1", size: 1, ctor: Int8Array },
  uint8: { code: "u1", size: 1, ctor: Uint8Array },
  int16: { code: "i2", size: 2, ctor: Int16Array },
  uint16: { code: "u2", size: 2, ctor: Uint16Array },
  int32: { code: "i4", size: 4, ctor: Int32Array },
  uint32: { code: "u4", size: 4, ctor: Uint32Array },
  int64: { code: "i8", size: 8, ctor: BigInt64Array },
  uint64: { code: "u8", size: 8, ctor: BigUint64Array },
};

function dtypeOf(data: TypedArray): NpyDtype {
  for (const [k, v] of Object.entries(DESCR)) if (data instanceof (v.ctor as unknown as typeof Float32Array)) return k as NpyDtype;
  throw new ValueError("unsupported typed array for .npy");
}

/** The `.npy` (format 1.0, or 2.0 for long headers) header bytes for an array. */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '<${DESCR[dtype].code}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Header (magic + version + length + dict + padding + \n) is a multiple of 64 bytes.
  const v1 = 10 + dict.length + 1 <= 65535 + 10;
  const pre = v1 ? 10 : 12;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict + " ".repeat(total - pre - dict.length - 1) + "\n";
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, v1 ? 1 : 2, 0]);
  const dv = new DataView(out.buffer);
  if (v1) dv.setUint16(8, dict.length, true);
  else dv.setUint32(8, dict.length, true);
  out.set(Buffer.from(dict, "latin1"), pre);
  return out;
}

/** Serialises an array to `.npy` bytes (little-endian, C order). */
export function encodeNpy(arr: NpyArray): Uint8Array {
  const n = arr.shape.reduce((a, b) => a * b, 1);
  if (arr.data.length !== n) throw new ValueError(`npy: data has ${arr.data.length} elements, shape [${arr.shape.join(", ")}] needs ${n}`);
  const header = npyHeader(arr.dtype, arr.shape);
  const body = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/** Writes an array to a `.npy` file atomically. The dtype follows the typed array. */
export function writeNpy(path: string, data: TypedArray, shape: readonly number[]): void {
  const dtype = dtypeOf(data);
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new ValueError(`npy: data has ${data.length} elements, shape [${shape.join(", ")}] needs ${n}`);
  writeFileAtomic(path, npyHeader(dtype, shape), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Parses `.npy` bytes. Fortran-order arrays are transposed to C order; big-endian data is byte-swapped. */
export function decodeNpy(bytes: Uint8Array, path = "<buffer>"): NpyArray {
  const ctx = (field: string, offset?: number) => ({ path, field, offset });
  if (bytes.length < 10 || bytes[0] !== 0x93 || Buffer.from(bytes.subarray(1, 6)).toString("latin1") !== "NUMPY") {
    throw new FormatError(ctx("magic", 0), "not a .npy file (expected \\x93NUMPY)");
  }
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number;
  let pre: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    pre = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new FormatError(ctx("header length", 8), "truncated");
    hlen = dv.getUint32(8, true);
    pre = 12;
  } else throw new FormatError(ctx("version", 6), `unsupported .npy version ${major}`);
  if (pre + hlen > bytes.length) throw new FormatError(ctx("header", pre), `header of ${hlen} bytes runs past the end of the file (${bytes.length} bytes)`);
  const text = Buffer.from(bytes.subarray(pre, pre + hlen)).toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr'\s*:\s*'([<>|=])([a-z])(\d+)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shapeM) throw new FormatError(ctx("header", pre), `cannot parse header ${JSON.stringify(text.trim())}`);
  const code = `${descr[2]}${descr[3]}`;
  const dtype = (Object.keys(DESCR) as NpyDtype[]).find((k) => DESCR[k].code === code);
  if (!dtype) throw new FormatError(ctx("header.descr", pre), `unsupported dtype ${descr[0]}`);
  const shape = shapeM[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new FormatError(ctx("header.shape", pre), `bad shape (${shapeM[1]})`);
  const n = shape.reduce((a, b) => a * b, 1);
  const { size, ctor } = DESCR[dtype];
  const start = pre + hlen;
  if (start + n * size > bytes.length) {
    throw new FormatError(ctx("data", start), `needs ${n * size} bytes for shape [${shape.join(", ")}], file has ${bytes.length - start}`);
  }
  // A fresh, aligned copy: Node's Buffer#slice is a view into a shared pool.
  const copy = new Uint8Array(n * size);
  copy.set(bytes.subarray(start, start + n * size));
  if (descr[1] === ">" && size > 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  let data = new ctor(copy.buffer, 0, n);
  if (fortran[1] === "True" && shape.length > 1) data = fortranToC(data, shape, ctor);
  return { dtype, shape, data };
}

function fortranToC(src: TypedArray, shape: number[], ctor: new (n: number) => TypedArray): TypedArray {
  const n = src.length;
  const out = new ctor(n);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  const fStride = new Array<number>(nd);
  fStride[0] = 1;
  for (let d = 1; d < nd; d++) fStride[d] = fStride[d - 1]! * shape[d - 1]!;
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let d = 0; d < nd; d++) f += idx[d]! * fStride[d]!;
    (out as Float64Array)[c] = (src as Float64Array)[f]!;
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Reads a `.npy` file. */
export function readNpy(path: string): NpyArray {
  return decodeNpy(readFileSync(path), path);
}
