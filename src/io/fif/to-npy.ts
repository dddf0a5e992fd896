import { asFileAccessError } from "../../errors.js";
import { printWarning, type WarningHandler } from "../../warnings.js";
import { writeNpyChunked, type NpyConversion, type NpyStreamOptions } from "../npy-stream.js";
import { closeFifRaw, fifDecodeArena, fifPicks, openFifRaw, readFifSamples } from "./raw.js";

export interface FifToNpyOptions extends NpyStreamOptions {
  /** Only these channels, in this order (names as stored). */
  channels?: string[];
  /** Called for each repair the reader makes (default: print to stderr). */
  onWarning?: WarningHandler;
}

/**
 * Converts a raw FIF (`.fif`, `.fif.gz`, split parts) to a float32 `.npy`
 * `[nChannels, nSamples]` in SI units without loading the recording: the
 * data buffers are read and calibrated a chunk at a time and each channel's
 * part of the chunk is written in place (`writeNpyChunked`). The values are
 * those of `readFif` (same `readFifSamples` decoding); the output appears
 * only when complete.
 */
export async function fifToNpy(input: string, output: string, opts: FifToNpyOptions = {}): Promise<NpyConversion> {
  let raw;
  try {
    raw = openFifRaw(input, { onWarning: opts.onWarning ?? printWarning });
  } catch (e) {
    throw asFileAccessError(e, input);
  }
  try {
    const picks = fifPicks(raw.info, opts.channels, input);
    // All channels in file order: the chunk and the read buffer share a SIMD decoder's memory.
    const simd = fifDecodeArena(raw, picks);
    const allocateChunk = simd ? (floats: number) => simd.arena.reserve(floats, simd.scratchBytes, picks.length) : opts.allocateChunk;
    await writeNpyChunked(output, picks.length, raw.nSamples, (start, stop, rows) => readFifSamples(raw, start, stop, rows, picks, 0, simd?.arena), { ...opts, allocateChunk });
    return { nChannels: picks.length, nSamples: raw.nSamples, sfreq: raw.info.sfreq };
  } catch (e) {
    throw asFileAccessError(e, output);
  } finally {
    closeFifRaw(raw);
  }
}
