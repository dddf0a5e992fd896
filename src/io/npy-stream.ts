import { ValueError } from "../errors.js";
import { openAtomic } from "./atomic.js";
import { npyHeader } from "./npy.js";

/**
 * Fills `rows[k]` (`stop - start` values from index 0; the rows may be
 * longer) with samples `[start, stop)` of output channel `k`.
 */
export type ChunkReader = (start: number, stop: number, rows: Float32Array[]) => void;

export interface NpyStreamOptions {
  /**
   * Bytes of float32 samples held in memory at once (one chunk of all
   * channels; default 8 MiB). Each channel's slice of a chunk is one write,
   * so larger chunks mean fewer, larger writes.
   */
  chunkBytes?: number;
  /** Bytes written between background flushes to disk (default 8 MiB; smaller files only get the final fsync). */
  flushBytes?: number;
  /** Provides the chunk buffer of `floats` values (default: a new Float32Array), e.g. in memory a decoder works in. */
  allocateChunk?: (floats: number) => Float32Array;
}

/** What a conversion to a float32 `.npy` (`fifToNpy`, `edfToNpy`) wrote. */
export interface NpyConversion {
  nChannels: number;
  nSamples: number;
  /** Sampling rate in Hz (the `.npy` itself has none). */
  sfreq: number;
}

/** Default budget: writes of ~20 KiB per channel for a few hundred channels, in bounded memory. */
const CHUNK_BYTES = 8 << 20;

const FLUSH_BYTES = 8 << 20;

/**
 * Writes a float32 `.npy` of shape `[nChannels, nSamples]` (C order) without
 * holding it in memory: `read` fills one reused chunk of all channels at a
 * time, and each channel's slice goes straight to its final place in the
 * file (channel c, samples [s0, s1) start at byte header + 4 (c·nSamples + s0)).
 *
 * The file is written atomically (temporary file, fsync, rename): a read
 * error or an interrupted run leaves no file at `path`. While later chunks
 * are decoded, what is already written is flushed to disk in the background
 * (fdatasync on libuv's thread pool), so the final fsync has little left to
 * wait for.
 */
export async function writeNpyChunked(path: string, nChannels: number, nSamples: number, read: ChunkReader, opts: NpyStreamOptions = {}): Promise<void> {
  if (!Number.isInteger(nChannels) || !Number.isInteger(nSamples) || nChannels < 0 || nSamples < 0) {
    throw new ValueError(`npy: shape [${nChannels}, ${nSamples}] is not a shape`);
  }
  const chunkBytes = opts.chunkBytes ?? CHUNK_BYTES;
  if (!(chunkBytes > 0)) throw new ValueError(`npy: chunkBytes must be positive, got ${chunkBytes}`);
  const header = npyHeader("float32", [nChannels, nSamples]);
  const len = Math.max(1, Math.min(nSamples, Math.floor(chunkBytes / (4 * Math.max(1, nChannels)))));
  const chunk = opts.allocateChunk ? opts.allocateChunk(nChannels * len) : new Float32Array(nChannels * len);
  if (chunk.length < nChannels * len) throw new ValueError(`npy: allocateChunk gave ${chunk.length} values, ${nChannels * len} needed`);
  const rows = Array.from({ length: nChannels }, (_, k) => chunk.subarray(k * len, (k + 1) * len));
  const bytes = rows.map((r) => new Uint8Array(r.buffer, r.byteOffset, r.byteLength));
  const file = openAtomic(path);
  // A background flush's failure is kept here and rethrown (a promise nobody awaits yet must not reject unhandled).
  let failure = null as { error: unknown } | null;
  let flushing = false;
  let unflushed = 0;
  try {
    file.write(header);
    for (let s0 = 0; s0 < nSamples; s0 += len) {
      const n = Math.min(len, nSamples - s0);
      read(s0, s0 + n, rows);
      // Synchronous writes: thread-pool writes to one file contend for its lock and cost more CPU than they overlap.
      for (let k = 0; k < nChannels; k++) file.writeAt(n === len ? bytes[k]! : bytes[k]!.subarray(0, 4 * n), header.length + 4 * (k * nSamples + s0));
      unflushed += 4 * n * nChannels;
      if (!flushing && unflushed >= (opts.flushBytes ?? FLUSH_BYTES)) {
        flushing = true;
        unflushed = 0;
        file.flushAsync().then(
          () => void (flushing = false),
          (error: unknown) => void (failure ??= { error }),
        );
      }
      // Let a finished flush be seen.
      if (flushing) await new Promise(setImmediate);
      if (failure) throw failure.error;
    }
    await file.settled();
    if (failure) throw failure.error;
    file.commit();
  } catch (e) {
    await file.settled();
    file.abort();
    throw e;
  }
}
