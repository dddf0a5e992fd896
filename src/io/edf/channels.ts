/**
 * What an EDF label and physical dimension mean for a Recording channel:
 * the channel kind, the SI unit and the factor to it, and MNE's way of
 * making duplicate labels unique.
 */
import type { ChannelKind } from "../../recording/types.js";
import type { WarningHandler } from "../../warnings.js";

/** EDF+ signal-type prefixes (`EEG Fp1`, `EOG horizontal`...) and the kinds they mean (MNE's `infer_types` table). */
const TYPE_PREFIXES: Record<string, ChannelKind> = {
  EEG: "eeg",
  EOG: "eog",
  ECG: "ecg",
  EKG: "ecg",
  EMG: "emg",
  RESP: "resp",
  TEMP: "temperature",
  MISC: "misc",
  SAO2: "bio",
  BIO: "bio",
  STIM: "stim",
  SEEG: "seeg",
  ECOG: "ecog",
  DBS: "dbs",
};

/**
 * The kind a label implies. BioSemi `Status` and `Trigger` (any case) are
 * stim channels, as in MNE. Otherwise the label's first word, when it is an
 * EDF+ type prefix (case-insensitive), gives the kind: `EOG horizontal` →
 * eog, `Resp oro-nasal` → resp; a label that is only the prefix (`EOG`)
 * counts too. Anything else is EEG, MNE's default. The name itself is never
 * changed (MNE's `infer_types` strips the prefix; neurocode keeps the full
 * label so names match the file and MNE's default reading).
 */
export function inferKind(label: string): ChannelKind {
  const lower = label.trim().toLowerCase();
  if (lower === "status" || lower === "trigger") return "stim";
  const first = label.trim().split(/\s+/)[0]!.toUpperCase();
  return TYPE_PREFIXES[first] ?? "eeg";
}

/**
 * Factor from a physical dimension to SI, and the SI unit, as MNE does it:
 * `uV`/`µV`/`μV` → 1e-6 V, `mV` → 1e-3 V, `V` → V; anything else (`nV`,
 * `DegC`, ``) is kept unscaled in its own unit.
 */
export function unitToSi(dimension: string): { scale: number; unit: string } {
  switch (dimension) {
    case "uV":
    case "\u00b5V":
    case "\u03bcV":
      return { scale: 1e-6, unit: "V" };
    case "mV":
      return { scale: 1e-3, unit: "V" };
    case "V":
      return { scale: 1, unit: "V" };
    default:
      return { scale: 1, unit: dimension };
  }
}

/**
 * Makes labels unique the way MNE's `_unique_channel_names` does: every
 * occurrence of a repeated label gets `-0`, `-1`... (`EEG F1-Ref` twice →
 * `EEG F1-Ref-0`, `EEG F1-Ref-1`), with a warning. Where a suffixed name
 * would collide with another label, the suffix counts on until it does not
 * (MNE raises there instead).
 */
export function uniqueLabels(labels: readonly string[], warn: WarningHandler, path: string): string[] {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const dups = [...counts].filter(([, n]) => n > 1).map(([l]) => l);
  if (dups.length === 0) return [...labels];
  warn({ code: "edf.duplicate-labels", message: `channel labels ${dups.map((d) => JSON.stringify(d)).join(", ")} occur more than once; renamed with -0, -1, ... suffixes`, path });
  const taken = new Set(labels);
  const next = new Map<string, number>();
  return labels.map((l) => {
    if (counts.get(l)! < 2) return l;
    let k = next.get(l) ?? 0;
    let name = `${l}-${k}`;
    while (taken.has(name)) name = `${l}-${++k}`;
    next.set(l, k + 1);
    taken.add(name);
    return name;
  });
}
