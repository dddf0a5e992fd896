import { extname } from "node:path";
import { asFileAccessError, ConfigError } from "../errors.js";
import type { Recording } from "../recording/types.js";
import { printWarning, type WarningHandler } from "../warnings.js";
import { readEdf } from "./edf/reader.js";
import { writeEdf } from "./edf/writer.js";
import { readFif } from "./fif/read.js";
import { writeFif } from "./fif/writer.js";
import { formatOf, isWritable, readableExtensions, writableExtensions, type FormatId, type WritableFormatId } from "./formats.js";
import { readNpyRecording, writeNpyRecording } from "./npy-recording.js";
import { attachStandardPositions } from "../sensors/attach.js";

/** Glob patterns of the recordings neurocode reads (for folder inputs). */
export const RECORDING_GLOBS: readonly string[] = ["**/*.edf", "**/*.bdf", "**/*.fif", "**/*.fif.gz"];

/** Options every reader understands. */
export interface ReadOptions {
  /** Called for each repair a reader makes (default: print to stderr). */
  onWarning?: WarningHandler;
  /** Keep only these channels (names as in the file, after de-duplication). */
  channels?: string[];
  /**
   * For files whose signals have different rates (EDF allows it): keep the
   * signals sampled at this rate (Hz). Without it, such files are an error
   * that lists the rates present.
   */
  rate?: number;
  /** Sampling rate of a raw `.npy` array (Hz); `.npy` files carry none. */
  sfreq?: number;
}

/** Options every writer understands. */
export interface WriteOptions {
  onWarning?: WarningHandler;
}

type Reader = (path: string, opts: ReadOptions) => Recording;
type Writer = (path: string, rec: Recording, opts: WriteOptions) => void;

const READERS: Readonly<Record<FormatId, Reader>> = { npy: readNpyRecording, edf: readEdf, fif: readFif, "fif.gz": readFif };
const WRITERS: Readonly<Record<WritableFormatId, Writer>> = { npy: writeNpyRecording, edf: writeEdf, fif: writeFif };

export { readableExtensions, writableExtensions };

/** Reads any supported file into a Recording, choosing the reader by extension; EEG channels with 10-05 labels and no position get standard ones (`attachStandardPositions`). */
export function readRecording(path: string, opts: ReadOptions = {}): Recording {
  const id = formatOf(path);
  if (!id) throw new ConfigError("input", `cannot read "${path}": unknown extension "${extname(path)}" (readable: ${readableExtensions().join(", ")})`);
  try {
    // EEG channels named in the 10-05 system get standard positions (head frame) when the file gives none.
    const rec = READERS[id](path, opts);
    return attachStandardPositions(rec, (w) => {
      rec.source.warnings.push(w);
      (opts.onWarning ?? printWarning)(w);
    });
  } catch (e) {
    throw asFileAccessError(e, path);
  }
}

/** Writes a Recording, choosing the format by extension; the file appears only when complete. */
export function writeRecording(path: string, rec: Recording, opts: WriteOptions = {}): void {
  const id = formatOf(path);
  if (!isWritable(id)) throw new ConfigError("output", `cannot write "${path}": unknown extension "${extname(path)}" (writable: ${writableExtensions().join(", ")})`);
  try {
    WRITERS[id](path, rec, opts);
  } catch (e) {
    throw asFileAccessError(e, path);
  }
}
