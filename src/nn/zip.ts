import { inflateRawSync } from "node:zlib";
import { FormatError } from "../errors.js";

/** One member of a zip archive. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the member's local header. */
  headerOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Minimal zip reader for PyTorch checkpoints (which are zip archives written by
 * miniz, usually stored, 64-byte aligned, zip64 when large). Reads the central
 * directory; `read()` returns a member's bytes (a view for stored members).
 * Every structure is bounds-checked; problems throw `FormatError`.
 */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly path = "<buffer>") {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readDirectory();
  }

  private fail(field: string, reason: string, offset?: number): FormatError {
    return new FormatError({ path: this.path, field, offset }, reason);
  }

  private u16(o: number): number {
    if (o + 2 > this.bytes.length) throw this.fail("zip", "structure runs past the end of the file", o);
    return this.view.getUint16(o, true);
  }
  private u32(o: number): number {
    if (o + 4 > this.bytes.length) throw this.fail("zip", "structure runs past the end of the file", o);
    return this.view.getUint32(o, true);
  }
  private u64(o: number): number {
    if (o + 8 > this.bytes.length) throw this.fail("zip", "structure runs past the end of the file", o);
    const v = this.view.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail("zip64", `value ${v} too large`, o);
    return Number(v);
  }

  private readDirectory(): void {
    const n = this.bytes.length;
    let eocd = -1;
    for (let o = n - 22; o >= Math.max(0, n - 22 - 65535); o--) {
      if (this.view.getUint32(o, true) === EOCD) {
        eocd = o;
        break;
      }
    }
    if (eocd < 0) throw this.fail("zip end of central directory", "not found (not a zip archive, or truncated)", n);
    let count = this.u16(eocd + 10);
    let dirOffset = this.u32(eocd + 16);
    if ((count === 0xffff || dirOffset === 0xffffffff) && eocd >= 20 && this.u32(eocd - 20) === ZIP64_LOCATOR) {
      const z = this.u64(eocd - 20 + 8);
      if (this.u32(z) !== ZIP64_EOCD) throw this.fail("zip64 end of central directory", "bad signature", z);
      count = this.u64(z + 32);
      dirOffset = this.u64(z + 48);
    }
    let o = dirOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(o) !== CENTRAL) throw this.fail(`zip central directory entry ${i}`, "bad signature", o);
      const method = this.u16(o + 10);
      let compressedSize = this.u32(o + 20);
      let size = this.u32(o + 24);
      const nameLen = this.u16(o + 28);
      const extraLen = this.u16(o + 30);
      const commentLen = this.u16(o + 32);
      let headerOffset = this.u32(o + 42);
      if (o + 46 + nameLen > n) throw this.fail(`zip central directory entry ${i}`, "name runs past the end of the file", o);
      const name = new TextDecoder().decode(this.bytes.subarray(o + 46, o + 46 + nameLen));
      // zip64 extended information: the 0xFFFFFFFF fields, in order, as 8-byte values.
      let e = o + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = this.u16(e);
        const len = this.u16(e + 2);
        if (id === 0x0001) {
          let p = e + 4;
          if (size === 0xffffffff) (size = this.u64(p)), (p += 8);
          if (compressedSize === 0xffffffff) (compressedSize = this.u64(p)), (p += 8);
          if (headerOffset === 0xffffffff) headerOffset = this.u64(p);
        }
        e += 4 + len;
      }
      if (method !== 0 && method !== 8) throw this.fail(`zip member ${name}`, `unsupported compression method ${method}`, o);
      this.entries.set(name, { name, method, compressedSize, size, headerOffset });
      o = extraEnd + commentLen;
    }
  }

  /** The bytes of member `name` (inflated if deflated). */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw this.fail(`zip member ${name}`, "missing from the archive");
    const h = e.headerOffset;
    if (this.u32(h) !== LOCAL) throw this.fail(`zip member ${name}`, "bad local header signature", h);
    const start = h + 30 + this.u16(h + 26) + this.u16(h + 28);
    const end = start + e.compressedSize;
    if (end > this.bytes.length) throw this.fail(`zip member ${name}`, `data (${e.compressedSize} bytes) runs past the end of the file`, start);
    const raw = this.bytes.subarray(start, end);
    if (e.method === 0) return raw;
    let out: Uint8Array;
    try {
      out = new Uint8Array(inflateRawSync(raw));
    } catch (err) {
      throw this.fail(`zip member ${name}`, `cannot inflate (${(err as Error).message})`, start);
    }
    if (out.length !== e.size) throw this.fail(`zip member ${name}`, `inflated to ${out.length} bytes, directory says ${e.size}`, start);
    return out;
  }
}
