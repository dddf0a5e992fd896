import { closeSync, fdatasync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
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
  /**
   * Starts writing what has been written so far to disk (fdatasync on the
   * thread pool), so that `commit`'s fsync has less left to wait for.
   */
  flushAsync(): Promise<void>;
  /** Resolves once no `flushAsync` is in flight; await it before `commit` or `abort`. */
  settled(): Promise<void>;
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
  const inFlight = new Set<Promise<void>>();
  const open = (what: string): number => {
    if (fd === null) throw new Error(`${what} after commit/abort: ${path}`);
    return fd;
  };
  // Closing the descriptor under a thread-pool operation could redirect it to a file opened later.
  const idle = (what: string) => {
    if (inFlight.size > 0) throw new Error(`${what} with ${inFlight.size} asynchronous operation(s) in flight: await settled() first (${path})`);
  };
  const track = (p: Promise<void>): Promise<void> => {
    inFlight.add(p);
    void p.then(
      () => inFlight.delete(p),
      () => inFlight.delete(p),
    );
    return p;
  };
  return {
    path,
    tempPath,
    write(bytes) {
      const f = open("write");
      let off = 0;
      while (off < bytes.length) off += writeSync(f, bytes, off, bytes.length - off);
    },
    writeAt(bytes, position) {
      const f = open("write");
      let off = 0;
      while (off < bytes.length) off += writeSync(f, bytes, off, bytes.length - off, position + off);
    },
    async flushAsync() {
      const f = open("flush");
      return track(new Promise((resolve, reject) => fdatasync(f, (err) => (err ? reject(err) : resolve()))));
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    commit() {
      idle("commit");
      if (fd === null) throw new Error(`commit after commit/abort: ${path}`);
      // Without it a kill is still safe (the rename comes last), but after a power loss or kernel crash the rename can
      // be on disk before the data: a whole-looking file of zeros. ~0.1 s of I/O wait per 100 MB here; flushAsync hides most.
      fsyncSync(fd);
      closeSync(fd);
      fd = null;
      renameSync(tempPath, path);
    },
    abort() {
      idle("abort");
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
