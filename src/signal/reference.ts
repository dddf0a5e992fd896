/**
 * Re-referencing, as MNE's `set_eeg_reference` and `set_bipolar_reference`
 * define it. Bad channels neither contribute to a reference nor are
 * re-referenced (MNE picks with `exclude="bads"`).
 */
import ndarray from "ndarray";
import { ConfigError, ValueError } from "../errors.js";
import { channelData, channelIndex, nSamples } from "../recording/recording.js";
import type { Annotation, ChannelInfo, ChannelKind, Recording } from "../recording/types.js";
import { findChannelByLabel } from "../sensors/labels.js";
import { runKernelParallel, sharedSamples, type ParallelOptions } from "./parallel.js";

/** Kinds MNE re-references with `ch_type="auto"`: EEG if present, else ECoG, sEEG, DBS. */
const AUTO_REF_KINDS: readonly ChannelKind[] = ["eeg", "ecog", "seeg", "dbs"];

/** What `setReference` accepts: `"average"`, one or more channel names, or bipolar pairs. */
export type ReferenceSpec = "average" | readonly string[] | { bipolar: readonly BipolarPair[] };

/** One derivation of a bipolar montage: `[anode, cathode, name]` (name defaults to `anode-cathode`). */
export type BipolarPair = readonly [string, string, string?];


function refKinds(rec: Recording, kinds?: readonly ChannelKind[]): ChannelKind[] {
  if (kinds) return [...kinds];
  const k = AUTO_REF_KINDS.find((kind) => rec.channels.some((c) => c.kind === kind));
  if (!k) throw new ValueError("no EEG, ECoG, sEEG or DBS channels to re-reference");
  return [k];
}

export interface SetReferenceOptions extends ParallelOptions {
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
  const src = rec.channels.map((_, i) => channelData(rec, i));
  const kernel = { op: "subtractMean" as const, from, to };
  if (opts.inPlace) {
    runKernelParallel(kernel, src, src, opts);
    return rec;
  }
  const nc = rec.channels.length;
  const ns = nSamples(rec);
  const buf = sharedSamples(nc * ns);
  const dst = src.map((_, i) => buf.subarray(i * ns, (i + 1) * ns));
  runKernelParallel(kernel, src, dst, opts);
  return { ...rec, data: ndarray(buf, [nc, ns]), channels: rec.channels.map((c) => ({ ...c })), bads: [...rec.bads] };
}

/** Bipolar derivations (see `setReference`). */
export function bipolarReference(rec: Recording, pairs: readonly BipolarPair[], opts: SetReferenceOptions = {}): Recording {
  if (pairs.length === 0) throw new ConfigError("bipolar", "the montage has no pairs");
  const ns = nSamples(rec);
  const used = new Set<number>();
  const labels = rec.channels.map((ch) => ch.name);
  const missing = [...new Set(pairs.flatMap(([a, c]) => [a, c]).filter((l) => findChannelByLabel(labels, l) < 0))];
  if (missing.length) throw new ValueError(`bipolar montage needs electrodes the recording lacks: ${missing.join(", ")}`);
  const derived = pairs.map(([a, c, name]) => {
    const ia = findChannelByLabel(labels, a);
    const ic = findChannelByLabel(labels, c);
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
    // The derivation sits midway between its electrodes; it has no orientation (like EEG).
    const [sa, sc] = [rec.channels[ia]!.sensor, rec.channels[ic]!.sensor];
    const { sensor: _anodeSensor, ...anode } = rec.channels[ia]!;
    channels.push({
      ...anode,
      name,
      ...(sa && sc ? { sensor: { position: sa.position.map((v, i) => (v + sc.position[i]!) / 2) as [number, number, number], orientation: [0, 0, 0] as [number, number, number], type: sa.type } } : {}),
    });
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
    annotations: bipolarAnnotations(rec, others, derived),
  };
}

/** Channel-specific annotations follow their electrodes into the derivations that use them (dropped when none remains). */
function bipolarAnnotations(rec: Recording, others: number[], derived: { ia: number; ic: number; name: string }[]): Annotation[] {
  const out: Annotation[] = [];
  for (const a of rec.annotations) {
    if (!a.channels) {
      out.push({ ...a });
      continue;
    }
    const used = new Set(a.channels);
    const name = (i: number) => rec.channels[i]!.name;
    const channels = [...others.filter((i) => used.has(name(i))).map(name), ...derived.filter((d) => used.has(name(d.ia)) || used.has(name(d.ic))).map((d) => d.name)];
    if (channels.length) out.push({ ...a, channels });
  }
  return out;
}
