import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/**
 * A file being written under a temporary name in the destination folder.
 * Nothing appears at `path` until `commit()` renames it into place, so an
 * interrupted run never leaves a half file that looks whole.
 */
export interface AtomicFile {
  readonly path: string;
  readonly tempPath: string;
  /** Appends bytes. */
  write(bytes: Uint8Array): void;
  /**
   * Writes bytes at byte offset `position`, leaving the append position of
   * `write` alone (a positioned write; gaps read as zeros until filled).
   */
  writeAt(bytes: Uint8Array, position: number): void;
  /** Flushes to disk and renames into place. */
  commit(): void;
  /** Removes the temporary file (safe to call after a failure). */
  abort(): void;
}

/** Temporary name used while writing `path`; `.tmp` marks it as incomplete. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/** Opens `path` for atomic writing (see `AtomicFile`). */
export function openAtomic(path: string): AtomicFile {
  const tempPath = tempPathFor(path);
  let fd: number | null = openSync(tempPath, "w");
  return {
    path,
    tempPath,
    write(bytes) {
      if (fd === null) throw new Error(`write after commit/abort: ${path}`);
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    },
    writeAt(bytes, position) {
      if (fd === null) throw new Error(`write after commit/abort: ${path}`);
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, position + off);
    },
    commit() {
      if (fd === null) throw new Error(`commit after commit/abort: ${path}`);
      fsyncSync(fd);
      closeSync(fd);
      fd = null;
      renameSync(tempPath, path);
    },
    abort() {
      if (fd !== null) {
        closeSync(fd);
        fd = null;
      }
      try {
        unlinkSync(tempPath);
      } catch {
        /* already gone */
      }
    },
  };
}

/** Writes `chunks` to `path` atomically (temporary file, fsync, rename). */
export function writeFileAtomic(path: string, ...chunks: Uint8Array[]): void {
  const f = openAtomic(path);
  try {
    for (const c of chunks) f.write(c);
    f.commit();
  } catch (e) {
    f.abort();
    throw e;
  }
}
