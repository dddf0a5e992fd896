import { asFileAccessError, ConfigError } from "../../errors.js";
import type { WarningHandler } from "../../warnings.js";
import { writeNpyChunked, type NpyConversion, type NpyStreamOptions } from "../npy-stream.js";
import { chooseSignals, openEdf } from "./reader.js";

export interface EdfToNpyOptions extends NpyStreamOptions {
  /** Only these channels, in this order (names as `readEdf` gives them). */
  channels?: string[];
  /** For files with several sampling rates: the signals at this rate (Hz). */
  rate?: number;
  /** Called for each repair the reader makes (default: print to stderr). */
  onWarning?: WarningHandler;
}

/**
 * Converts an EDF/EDF+/BDF/BDF+ file to a float32 `.npy` `[nChannels,
 * nSamples]` in SI units without loading the recording: records are read and
 * decoded a chunk at a time and each channel's part of the chunk is written in
 * place (`writeNpyChunked`). The values, the channel choice and the errors are
 * those of `readEdf` (the same `readRange` decoding, and the annotations are
 * still parsed, so a corrupt file fails here as it does there); the output
 * appears only when complete.
 *
 * Why: a whole recording in memory costs its size in fresh pages, and on
 * virtual machines that fault memory in lazily the first touch of those pages
 * can cost more than reading and decoding the file.
 */
export async function edfToNpy(input: string, output: string, opts: EdfToNpyOptions = {}): Promise<NpyConversion> {
  let f;
  try {
    f = openEdf(input, { onWarning: opts.onWarning });
  } catch (e) {
    throw asFileAccessError(e, input);
  }
  try {
    // Annotation and record-time errors surface here before anything is written, as they do in readEdf.
    f.timeline();
    if (f.dataSignals.length === 0) {
      if (opts.channels?.length) throw new ConfigError("channels", `${input}: the file has no data channels, only annotations`);
    }
    const chosen = f.dataSignals.length ? chooseSignals(f, opts) : [];
    const nSamples = chosen.length ? f.nSamples(chosen[0]!) : 0;
    await writeNpyChunked(output, chosen.length, nSamples, (start, stop, rows) => void f.readRange(chosen, start, stop, rows), opts);
    return { nChannels: chosen.length, nSamples, sfreq: chosen.length ? f.sfreq(chosen[0]!) : 1 };
  } catch (e) {
    throw asFileAccessError(e, output);
  } finally {
    f.close();
  }
}
