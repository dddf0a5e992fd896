import { FIFF } from "../../../src/io/fif/constants.js";
import { memorySource } from "../../../src/io/fif/source.js";
import { readDirectory, type DirEntry } from "../../../src/io/fif/tree.js";

/** The tags of FIF bytes, in file order. */
export function entries(bytes: Uint8Array): DirEntry[] {
  return readDirectory(memorySource(bytes));
}

/** Turns data buffer `k` into a one-buffer FIFF_DATA_SKIP whose `next` jumps over the old payload (files without a directory). */
export function skipBuffer(bytes: Uint8Array, k: number): Uint8Array {
  const out = bytes.slice();
  const e = entries(bytes).filter((x) => x.kind === FIFF.DATA_BUFFER)[k]!;
  const dv = new DataView(out.buffer);
  dv.setInt32(e.pos, FIFF.DATA_SKIP);
  dv.setUint32(e.pos + 4, 3);
  dv.setInt32(e.pos + 8, 4);
  dv.setInt32(e.pos + 12, e.pos + 16 + e.size);
  dv.setInt32(e.pos + 16, 1);
  return out;
}
