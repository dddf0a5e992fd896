/**
 * Re-referencing, as MNE's `set_eeg_reference` and `set_bipolar_reference`
 * define it. Bad channels neither contribute to a reference nor are
 * re-referenced (MNE picks with `exclude="bads"`).
 */
import ndarray from "ndarray";
import { ConfigError, ValueError } from "../errors.js";
import { channelData, channelIndex, nSamples } from "../recording/recording.js";
import type { ChannelInfo, ChannelKind, Recording } from "../recording/types.js";

/** Kinds MNE re-references with `ch_type="auto"`: EEG if present, else ECoG, sEEG, DBS. */
const AUTO_REF_KINDS: readonly ChannelKind[] = ["eeg", "ecog", "seeg", "dbs"];

/** What `setReference` accepts: `"average"`, one or more channel names, or bipolar pairs. */
export type ReferenceSpec = "average" | readonly string[] | { bipolar: readonly BipolarPair[] };

/** One derivation of a bipolar montage: `[anode, cathode, name]` (name defaults to `anode-cathode`). */
export type BipolarPair = readonly [string, string, string?];

/**
 * EEGDM's (and BIOT/LaBraM's TUEV) 22-channel TCP bipolar montage over TUH
 * `EEG xx-REF` names, in the channel order the model's condition ids assume.
 */
export const TCP_MONTAGE: readonly BipolarPair[] = (
  [
    ["FP1", "F7"], ["F7", "T3"], ["T3", "T5"], ["T5", "O1"], ["FP2", "F8"], ["F8", "T4"], ["T4", "T6"], ["T6", "O2"],
    ["A1", "T3"], ["T3", "C3"], ["C3", "CZ"], ["C4", "CZ"], ["T4", "C4"], ["A2", "T4"],
    ["FP1", "F3"], ["F3", "C3"], ["C3", "P3"], ["P3", "O1"], ["FP2", "F4"], ["F4", "C4"], ["C4", "P4"], ["P4", "O2"],
  ] as const
).map(([a, c]) => [`EEG ${a}-REF`, `EEG ${c}-REF`, `${a}-${c}`] as const);

function refKinds(rec: Recording, kinds?: readonly ChannelKind[]): ChannelKind[] {
  if (kinds) return [...kinds];
  const k = AUTO_REF_KINDS.find((kind) => rec.channels.some((c) => c.kind === kind));
  if (!k) throw new ValueError("no EEG, ECoG, sEEG or DBS channels to re-reference");
  return [k];
}

/** Copies `rec` with a fresh data buffer (float32). */
function withCopiedData(rec: Recording): { out: Recording; rows: Float32Array[] } {
  const nc = rec.channels.length;
  const ns = nSamples(rec);
  const buf = new Float32Array(nc * ns);
  const rows: Float32Array[] = [];
  for (let i = 0; i < nc; i++) {
    const r = buf.subarray(i * ns, (i + 1) * ns);
    r.set(channelData(rec, i));
    rows.push(r);
  }
  return { out: { ...rec, data: ndarray(buf, [nc, ns]), channels: rec.channels.map((c) => ({ ...c })), bads: [...rec.bads] }, rows };
}

/**
 * Subtracts the mean of the `from` channels (float64) from every `to` channel.
 * Returns the reference signal that was subtracted.
 */
function subtractReference(rec: Recording, rows: Float32Array[], from: number[], to: number[]): Float64Array {
  const ns = nSamples(rec);
  const ref = new Float64Array(ns);
  for (const i of from) {
    const r = channelData(rec, i);
    for (let t = 0; t < ns; t++) ref[t]! += r[t]!;
  }
  for (let t = 0; t < ns; t++) ref[t]! /= from.length;
  for (const i of to) {
    const src = channelData(rec, i);
    const dst = rows[i]!;
    for (let t = 0; t < ns; t++) dst[t] = src[t]! - ref[t]!;
  }
  return ref;
}

export interface SetReferenceOptions {
  /** Channel kinds to re-reference (default: MNE's `ch_type="auto"`). */
  kinds?: readonly ChannelKind[];
  /** Bipolar only: keep channels not used by any pair, before the bipolar ones (MNE's `drop_refs=True` layout). Default false: the montage's channels only. */
  keepOthers?: boolean;
  /** Average/channel references only: subtract in `rec.data` itself and return `rec` (MNE's `copy=False`). */
  inPlace?: boolean;
}

/**
 * Re-references a Recording and returns a new one (MNE `set_eeg_reference` /
 * `set_bipolar_reference` semantics):
 * - `"average"`: subtract the mean of the good channels of the referenced kind;
 * - channel names: subtract their mean (the reference channels become 0);
 * - `{ bipolar }`: each pair gives `anode − cathode` named `name`; the new
 *   channel takes the anode's kind, unit and sensor.
 */
export function setReference(rec: Recording, spec: ReferenceSpec, opts: SetReferenceOptions = {}): Recording {
  if (typeof spec === "object" && "bipolar" in spec) return bipolarReference(rec, spec.bipolar, opts);
  const kinds = new Set(refKinds(rec, opts.kinds));
  const bads = new Set(rec.bads);
  const to = rec.channels.flatMap((c, i) => (kinds.has(c.kind) && !bads.has(c.name) ? [i] : []));
  if (to.length === 0) throw new ValueError(`no good ${[...kinds].join("/")} channels to re-reference`);
  let from: number[];
  if (spec === "average") from = to;
  else {
    if (spec.length === 0) throw new ConfigError("reference", "give at least one reference channel");
    from = spec.map((name) => channelIndex(rec, name));
  }
  if (opts.inPlace) {
    // The reference is computed in full before any channel changes, so in place is safe.
    subtractReference(rec, rec.channels.map((_, i) => channelData(rec, i)), from, to);
    return rec;
  }
  const { out, rows } = withCopiedData(rec);
  subtractReference(rec, rows, from, to);
  return out;
}

/** Bipolar derivations (see `setReference`). */
export function bipolarReference(rec: Recording, pairs: readonly BipolarPair[], opts: SetReferenceOptions = {}): Recording {
  if (pairs.length === 0) throw new ConfigError("bipolar", "the montage has no pairs");
  const ns = nSamples(rec);
  const used = new Set<number>();
  const derived = pairs.map(([a, c, name]) => {
    const ia = channelIndex(rec, a);
    const ic = channelIndex(rec, c);
    used.add(ia);
    used.add(ic);
    return { ia, ic, name: name ?? `${a}-${c}` };
  });
  const others = opts.keepOthers ? rec.channels.flatMap((_, i) => (used.has(i) ? [] : [i])) : [];
  const nc = others.length + derived.length;
  const buf = new Float32Array(nc * ns);
  const channels: ChannelInfo[] = [];
  others.forEach((i, k) => {
    buf.set(channelData(rec, i), k * ns);
    channels.push({ ...rec.channels[i]! });
  });
  derived.forEach(({ ia, ic, name }, k) => {
    const a = channelData(rec, ia);
    const c = channelData(rec, ic);
    const row = buf.subarray((others.length + k) * ns, (others.length + k + 1) * ns);
    for (let t = 0; t < ns; t++) row[t] = a[t]! - c[t]!;
    channels.push({ ...rec.channels[ia]!, name });
  });
  const names = new Set(channels.map((c) => c.name));
  if (names.size !== channels.length) throw new ValueError("bipolar channel names collide with kept channels; name the pairs");
  const bads = new Set(rec.bads);
  return {
    ...rec,
    data: ndarray(buf, [nc, ns]),
    channels,
    // A derivation is bad when either electrode is; kept channels keep their status.
    bads: [...others.filter((i) => bads.has(rec.channels[i]!.name)).map((i) => rec.channels[i]!.name), ...derived.filter((d) => bads.has(rec.channels[d.ia]!.name) || bads.has(rec.channels[d.ic]!.name)).map((d) => d.name)],
    annotations: rec.annotations.map((a) => ({ ...a, ...(a.channels ? { channels: [...a.channels] } : {}) })),
  };
}
