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
   * Bytes of float32 samples held in memory at once (all channels of one
   * chunk; default 16 MiB). Each channel's slice of a chunk is one write, so
   * larger chunks mean fewer, larger writes.
   */
  chunkBytes?: number;
}

/** Default chunk: large enough for writes of tens of KiB per channel, small enough to stay in cache-friendly, bounded memory. */
const CHUNK_BYTES = 16 << 20;

/**
 * Writes a float32 `.npy` of shape `[nChannels, nSamples]` (C order) without
 * holding it in memory: `read` fills one reused chunk of all channels at a
 * time, and each channel's slice goes straight to its final place in the file
 * (channel c, samples [s0, s1) start at byte header + 4 (c·nSamples + s0)).
 * The file is written atomically (temporary file, fsync, rename), so a read
 * error or an interrupted run leaves no file at `path`.
 */
export function writeNpyChunked(path: string, nChannels: number, nSamples: number, read: ChunkReader, opts: NpyStreamOptions = {}): void {
  if (!Number.isInteger(nChannels) || !Number.isInteger(nSamples) || nChannels < 0 || nSamples < 0) {
    throw new ValueError(`npy: shape [${nChannels}, ${nSamples}] is not a shape`);
  }
  const chunkBytes = opts.chunkBytes ?? CHUNK_BYTES;
  if (!(chunkBytes > 0)) throw new ValueError(`npy: chunkBytes must be positive, got ${chunkBytes}`);
  const header = npyHeader("float32", [nChannels, nSamples]);
  const len = Math.max(1, Math.min(nSamples, Math.floor(chunkBytes / (4 * Math.max(1, nChannels)))));
  const chunk = new Float32Array(nChannels * len);
  const rows = Array.from({ length: nChannels }, (_, k) => chunk.subarray(k * len, (k + 1) * len));
  const file = openAtomic(path);
  try {
    file.write(header);
    for (let s0 = 0; s0 < nSamples; s0 += len) {
      const n = Math.min(len, nSamples - s0);
      read(s0, s0 + n, rows);
      for (let k = 0; k < nChannels; k++) {
        file.writeAt(new Uint8Array(chunk.buffer, k * len * 4, n * 4), header.length + 4 * (k * nSamples + s0));
      }
    }
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
}
