import { ConfigError } from "../errors.js";
import type { ChannelKind, Recording } from "../recording/types.js";
import { printWarning, type WarningHandler } from "../warnings.js";
import { CHANNEL_LOC_ALIASES, electrodeName, labelKey } from "./labels.js";
import { loadMontage, montageInHead, type Montage, type Vec3 } from "./montage.js";

export interface SetMontageOptions {
  /** Channel kinds that get positions (default `["eeg"]`). */
  kinds?: ChannelKind[];
  /** Try MNE's `CHANNEL_LOC_ALIASES` (T3→T7...) for labels the montage lacks (default true). */
  aliases?: boolean;
  /** What to do when a channel of those kinds has no position: `ignore` (default) or `raise` (a `ConfigError` listing them). */
  onMissing?: "ignore" | "raise";
}

/** Finds a label's position in a head-frame montage by normalised label, then by alias. */
export function montagePosition(headMontage: Montage, label: string, aliases = true): Vec3 | undefined {
  const index = new Map(headMontage.labels.map((l, i) => [l.toUpperCase(), i]));
  let i = index.get(labelKey(label));
  if (i === undefined && aliases) {
    const alias = CHANNEL_LOC_ALIASES[electrodeName(label)] ?? CHANNEL_LOC_ALIASES[electrodeName(label).toUpperCase()];
    if (alias) i = index.get(alias.toUpperCase());
  }
  return i === undefined ? undefined : headMontage.positions[i];
}

/**
 * A copy of the Recording whose EEG channels carry sensors at the montage's
 * positions, moved into the head frame by the montage's fiducials (what MNE's
 * `set_montage` puts in `loc[:3]`). Labels are matched after normalisation
 * (`EEG Fp1-REF` → `Fp1`, case-insensitive). Data are shared, not copied.
 */
export function setMontage(rec: Recording, montage: Montage, opts: SetMontageOptions = {}): Recording {
  const kinds = new Set(opts.kinds ?? ["eeg"]);
  const head = montageInHead(montage);
  const missing: string[] = [];
  const channels = rec.channels.map((c) => {
    if (!kinds.has(c.kind)) return c;
    const p = montagePosition(head, c.name, opts.aliases ?? true);
    if (!p) {
      missing.push(c.name);
      return c;
    }
    return { ...c, sensor: { position: p, orientation: [0, 0, 0] as Vec3, type: "eeg" as const, coilType: 1 } };
  });
  if (missing.length && opts.onMissing === "raise") {
    throw new ConfigError("montage", `${missing.length} channel(s) not in montage "${montage.name}": ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}`);
  }
  return { ...rec, channels };
}

/** Parsed once per process: every file read through `readRecording` may need it. */
let standard1005: Montage | undefined;

/**
 * Gives EEG channels without a sensor the standard 10-05 position of their
 * label (`standard_1005`, head frame); channels that already have a sensor or
 * whose label is not a 10-05 name are left as they are.
 *
 * A file whose EEG labels are mostly not 10-05 names follows another scheme,
 * and the few that happen to match are not where 10-05 puts them (BioSemi's
 * A1…H16 share A1, A2, C1…C6, I1, I2 with 10-05): then no channel is placed,
 * and `onWarning` says so (default: printed to stderr), so the user sets the
 * file's own montage instead of getting silently wrong geometry.
 */
export function attachStandardPositions(rec: Recording, onWarning: WarningHandler = printWarning): Recording {
  const unplaced = rec.channels.filter((c) => c.kind === "eeg" && !c.sensor);
  if (!unplaced.length) return rec;
  standard1005 ??= loadMontage("standard_1005");
  const placed = setMontage(rec, standard1005);
  const matched = rec.channels.filter((c, i) => !c.sensor && placed.channels[i]!.sensor).length;
  if (matched > 0 && 2 * matched < unplaced.length) {
    onWarning({
      code: "sensors.not-10-05",
      message: `only ${matched} of ${unplaced.length} EEG labels are 10-05 names (e.g. ${unplaced.slice(0, 3).map((c) => c.name).join(", ")}): ` +
        "no standard positions attached; give the file's own montage (setMontage)",
      path: rec.source.path,
    });
    return rec;
  }
  return { ...rec, channels: rec.channels.map((c, i) => c.sensor ? c : placed.channels[i]!) };
}
