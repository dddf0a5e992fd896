/**
 * The recording formats neurocode knows, by file extension. Kept apart from
 * the readers and writers (`open.ts`) so that the CLI can name the formats in
 * its help without loading every reader at start-up.
 */

/** A format's id: `open.ts` maps it to its reader and writer. */
export type FormatId = "npy" | "edf" | "fif" | "fif.gz";

/** Formats with a writer. */
export type WritableFormatId = "npy" | "edf" | "fif";

interface FormatSpec {
  id: FormatId;
  extensions: readonly string[];
  writable: boolean;
}

/** Every format is readable; first match wins (add new formats here and in `open.ts`). */
const FORMATS: readonly FormatSpec[] = [
  { id: "npy", extensions: [".npy"], writable: true },
  { id: "edf", extensions: [".edf", ".bdf"], writable: true },
  { id: "fif", extensions: [".fif"], writable: true },
  { id: "fif.gz", extensions: [".fif.gz"], writable: false },
];

/** The format of `path` by its extension (case-insensitive), or undefined. */
export function formatOf(path: string): FormatId | undefined {
  const lower = path.toLowerCase();
  return FORMATS.find((f) => f.extensions.some((e) => lower.endsWith(e)))?.id;
}

/** True when `id` has a writer. */
export function isWritable(id: FormatId | undefined): id is WritableFormatId {
  return FORMATS.some((f) => f.id === id && f.writable);
}

/** Extensions that `readRecording` accepts. */
export function readableExtensions(): string[] {
  return FORMATS.flatMap((f) => f.extensions);
}

/** Extensions that `writeRecording` accepts. */
export function writableExtensions(): string[] {
  return FORMATS.filter((f) => f.writable).flatMap((f) => f.extensions);
}
