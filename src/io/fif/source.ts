import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { FormatError } from "../../errors.js";

/**
 * Random access to the bytes of a FIF file. Plain files are read with
 * positioned reads (only what is asked for); `.fif.gz` files are inflated
 * whole into memory first, because gzip has no random access.
 */
export interface FifSource {
  readonly path: string;
  /** Size in bytes (of the inflated stream for gzip files). */
  readonly size: number;
  /** Copies `length` bytes at `pos` into `dest` (which must be large enough). */
  readInto(dest: Uint8Array, pos: number, length: number): void;
  /** Bytes at `pos`; may be a view of an internal buffer, so do not keep it across reads. */
  read(pos: number, length: number): Uint8Array;
  close(): void;
}

/** True when the file starts with the gzip magic bytes (whatever its name says). */
function isGzipFile(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const magic = new Uint8Array(2);
    return readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** Opens a FIF file: plain files by positioned reads, gzip-compressed ones (`.fif.gz`, found by their magic bytes) inflated in memory. */
export function openFifSource(path: string): FifSource {
  if (isGzipFile(path)) {
    let bytes: Uint8Array;
    try {
      bytes = gunzipSync(readFileSync(path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw e;
      throw new FormatError({ path, field: "gzip", offset: 0 }, `cannot inflate: ${(e as Error).message}`);
    }
    return memorySource(bytes, path);
  }
  let fd: number | null = openSync(path, "r");
  const size = fstatSync(fd).size;
  let scratch = new Uint8Array(64);
  return {
    path,
    size,
    readInto(dest, pos, length) {
      if (fd === null) throw new Error(`${path}: read after close`);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, dest, done, length - done, pos + done);
        if (n === 0) throw new FormatError({ path, field: "read", offset: pos + done }, "unexpected end of file");
        done += n;
      }
    },
    read(pos, length) {
      if (scratch.length < length) scratch = new Uint8Array(Math.max(length, scratch.length * 2));
      const view = scratch.subarray(0, length);
      this.readInto(view, pos, length);
      return view;
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/** A FIF source over bytes already in memory (inflated gzip, tests). */
export function memorySource(bytes: Uint8Array, path = "<buffer>"): FifSource {
  return {
    path,
    size: bytes.length,
    readInto(dest, pos, length) {
      if (pos + length > bytes.length) throw new FormatError({ path, field: "read", offset: pos }, "unexpected end of file");
      dest.set(bytes.subarray(pos, pos + length));
    },
    read(pos, length) {
      if (pos + length > bytes.length) throw new FormatError({ path, field: "read", offset: pos }, "unexpected end of file");
      return bytes.subarray(pos, pos + length);
    },
    close() {},
  };
}
