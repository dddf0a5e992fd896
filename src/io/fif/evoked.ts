import ndarray from "ndarray";
import { FormatError } from "../../errors.js";
import { createRecording } from "../../recording/recording.js";
import { addSeconds } from "../../recording/time.js";
import type { Recording } from "../../recording/types.js";
import { collectWarnings, printWarning } from "../../warnings.js";
import type { ReadOptions } from "../open.js";
import { FIFF, FIFFB } from "./constants.js";
import { fifChannelInfo, type FifHeader } from "./read.js";
import { readFifTreeAndInfo } from "./raw.js";
import { openFifSource } from "./source.js";
import { readTagData, tagMatrix, tagNumber, tagString } from "./tag.js";
import { findBlocks, findEntry } from "./tree.js";

/** What an evoked Recording keeps in `source.header` besides the measurement info. */
export interface FifEvokedHeader extends FifHeader {
  /** Condition name (`FIFF_COMMENT`), e.g. `Left Auditory`. */
  comment: string;
  /** Number of averaged epochs. */
  nave: number;
  /** `FIFFV_ASPECT_*`: 100 average, 101 standard error. */
  aspectKind: number;
}

/**
 * Reads every evoked set of an evoked FIF file (MNE's `read_evokeds`) as
 * Recordings: data `[nchan, ntimes]` in SI units (stored × cal, as MNE),
 * `firstSample` = the first sample index (negative before the stimulus), the
 * condition, nave and aspect in `source.header`. Projectors are read, not
 * applied (`applyProjectors` does what MNE's `proj=True` does).
 */
export function readFifEvoked(path: string, opts: ReadOptions = {}): Recording[] {
  const warnings = collectWarnings(opts.onWarning ?? printWarning);
  const src = openFifSource(path);
  try {
    const { tree, info } = readFifTreeAndInfo(src, warnings.handler);
    const sets = findBlocks(tree, FIFFB.EVOKED);
    if (sets.length === 0) throw new FormatError({ path, field: "evoked" }, "no FIFFB_EVOKED block: not an evoked file");
    return sets.map((node) => {
      const num = (n: typeof node, kind: number) => {
        const e = findEntry(n, kind);
        return e ? tagNumber(readTagData(src, e)) : undefined;
      };
      const aspect = node.children.find((c) => c.block === FIFFB.ASPECT);
      const epochE = aspect && findEntry(aspect, FIFF.EPOCH);
      const first = num(node, FIFF.FIRST_SAMPLE);
      const last = num(node, FIFF.LAST_SAMPLE);
      if (!aspect || !epochE || first === undefined || last === undefined) {
        throw new FormatError({ path, field: "evoked", offset: node.entries[0]?.pos }, "evoked set without aspect, data or first/last sample (old-style files are not supported)");
      }
      const rows = tagMatrix(readTagData(src, epochE));
      const ns = last - first + 1;
      if (rows.length !== info.nchan || rows.some((r) => r.length !== ns)) {
        throw new FormatError({ path, field: "FIFF_EPOCH", offset: epochE.pos }, `data are ${rows.length}×${rows[0]?.length}, expected ${info.nchan}×${ns}`);
      }
      const buf = new Float32Array(info.nchan * ns);
      rows.forEach((r, c) => {
        const cal = info.channels[c]!.cal;
        r.forEach((v, t) => (buf[c * ns + t] = v * cal));
      });
      const commentE = findEntry(aspect, FIFF.COMMENT) ?? findEntry(node, FIFF.COMMENT);
      const header: FifEvokedHeader = {
        info,
        firstSample: first,
        paths: [path],
        comment: commentE ? tagString(readTagData(src, commentE)) : "No comment",
        nave: num(aspect, FIFF.NAVE) ?? 1,
        aspectKind: num(aspect, FIFF.ASPECT_KIND) ?? 100,
      };
      const rec = createRecording({
        data: ndarray(buf, [info.nchan, ns]),
        sfreq: info.sfreq,
        channels: info.channels.map((c) => fifChannelInfo(c, info)),
        firstSample: first,
        startTime: info.measDate ? addSeconds({ unixSeconds: info.measDate[0], fraction: 0 }, info.measDate[1] / 1e6 + first / info.sfreq) : null,
        bads: info.bads,
        source: { path, format: "fif", header, warnings: warnings.list },
      });
      rec.projectors = info.projectors;
      return rec;
    });
  } finally {
    src.close();
  }
}
