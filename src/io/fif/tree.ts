import { FormatError } from "../../errors.js";
import type { WarningHandler } from "../../warnings.js";
import { FIFF, FIFFB, FIFFT, FIFFV_NEXT_NONE, FIFFV_NEXT_SEQ } from "./constants.js";
import { readTagData, readTagHeader, TAG_HEADER_BYTES, tagNumber } from "./tag.js";
import type { FifSource } from "./source.js";

/** One tag of the file: where it is and what it holds (not its payload). */
export interface DirEntry {
  kind: number;
  type: number;
  size: number;
  /** Byte offset of the tag header. */
  pos: number;
}

/** A block of the file: its own tags and its sub-blocks, in file order. */
export interface FifNode {
  block: number;
  entries: DirEntry[];
  children: FifNode[];
}

/**
 * The list of all tags: from the directory when the file has one and it is
 * sound, otherwise by following each tag's `next` from the start (what MNE
 * does for files it wrote itself, which have no directory).
 */
export function readDirectory(src: FifSource, onWarning?: WarningHandler): DirEntry[] {
  const kind = src.size >= 4 ? new DataView(src.read(0, 4).slice().buffer).getInt32(0) : null;
  if (kind !== FIFF.FILE_ID) {
    throw new FormatError({ path: src.path, field: "file id", offset: 0 }, `not a FIF file: the first tag is not FIFF_FILE_ID (100)`);
  }
  const first = readTagHeader(src, 0);
  const second = readTagHeader(src, TAG_HEADER_BYTES + first.size);
  if (second.kind !== FIFF.DIR_POINTER) {
    throw new FormatError({ path: src.path, field: "dir pointer", offset: second.pos }, `second tag is kind ${second.kind}, expected FIFF_DIR_POINTER (101)`);
  }
  const dirPos = tagNumber(readTagData(src, second));
  if (dirPos > 0) {
    try {
      return readDirTag(src, dirPos);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      onWarning?.({ code: "fif.bad-directory", path: src.path, message: `tag directory unusable (${e.reason}); scanning tags instead` });
    }
  }
  return scanTags(src);
}

function readDirTag(src: FifSource, dirPos: number): DirEntry[] {
  const tag = readTagHeader(src, dirPos);
  const field = { path: src.path, field: "directory", offset: dirPos };
  if (tag.kind !== FIFF.DIR || tag.type !== FIFFT.DIR_ENTRY_STRUCT || tag.size % 16 !== 0) {
    throw new FormatError(field, `expected FIFF_DIR (102) of dir entries, got kind ${tag.kind} type ${tag.type}`);
  }
  const d = readTagData(src, tag);
  const out: DirEntry[] = [];
  // The last 16-byte entry is a terminator (kind -1), as MNE's reader assumes.
  for (let off = 0; off + 16 < tag.size; off += 16) {
    const e = { kind: d.view.getInt32(off), type: d.view.getUint32(off + 4), size: d.view.getInt32(off + 8), pos: d.view.getInt32(off + 12) };
    if (e.pos < 0 || e.size < 0 || e.pos + TAG_HEADER_BYTES + e.size > src.size) {
      throw new FormatError({ ...field, offset: dirPos + TAG_HEADER_BYTES + off }, `entry for tag ${e.kind} points outside the file`);
    }
    out.push(e);
  }
  return out;
}

/** Follows `next` pointers from the start; loops and out-of-file pointers are format errors. */
function scanTags(src: FifSource): DirEntry[] {
  const out: DirEntry[] = [];
  const seen = new Set<number>();
  let pos = 0;
  while (pos < src.size) {
    if (seen.has(pos)) throw new FormatError({ path: src.path, field: "tag.next", offset: pos }, "tag chain loops back to an earlier tag");
    seen.add(pos);
    const t = readTagHeader(src, pos);
    out.push({ kind: t.kind, type: t.type, size: t.size, pos });
    if (t.next === FIFFV_NEXT_NONE) break;
    if (t.next === FIFFV_NEXT_SEQ) pos = pos + TAG_HEADER_BYTES + t.size;
    else if (t.next > 0) pos = t.next;
    else throw new FormatError({ path: src.path, field: "tag.next", offset: pos + 12 }, `invalid next pointer ${t.next}`);
  }
  return out;
}

/** Builds the block tree from the flat tag list (BLOCK_START/BLOCK_END pairs). */
export function buildTree(src: FifSource, entries: readonly DirEntry[]): FifNode {
  const root: FifNode = { block: FIFFB.ROOT, entries: [], children: [] };
  const stack: FifNode[] = [root];
  for (const e of entries) {
    if (e.kind === FIFF.BLOCK_START) {
      const node: FifNode = { block: tagNumber(readTagData(src, e)), entries: [], children: [] };
      stack[stack.length - 1]!.children.push(node);
      stack.push(node);
    } else if (e.kind === FIFF.BLOCK_END) {
      if (stack.length === 1) throw new FormatError({ path: src.path, field: "block end", offset: e.pos }, "FIFF_BLOCK_END without a matching block start");
      stack.pop();
    } else {
      stack[stack.length - 1]!.entries.push(e);
    }
  }
  return root;
}

/** All blocks of kind `block` in the subtree of `node` (including `node`), depth first. */
export function findBlocks(node: FifNode, block: number): FifNode[] {
  const out: FifNode[] = [];
  const visit = (n: FifNode) => {
    if (n.block === block) out.push(n);
    n.children.forEach(visit);
  };
  visit(node);
  return out;
}

/** The first tag of `kind` directly in `node`. */
export function findEntry(node: FifNode, kind: number): DirEntry | undefined {
  return node.entries.find((e) => e.kind === kind);
}
