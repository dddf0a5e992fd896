import { readFileSync } from "node:fs";
import { join } from "node:path";
import ndarray from "ndarray";
import { ConfigError, FormatError } from "../errors.js";
import { channelData, nSamples } from "../recording/recording.js";
import type { Annotation, ChannelInfo, Recording } from "../recording/types.js";
import { CHANNEL_LOC_ALIASES, labelKey } from "./labels.js";
import { SENSORS_DIR, type Vec3 } from "./montage.js";

/** One bipolar channel: `anode − cathode`. */
export interface Derivation {
  name: string;
  anode: string;
  cathode: string;
}

/** A named list of bipolar derivations (e.g. the TUEV/TUAB "double banana"). */
export interface BipolarMontage {
  name: string;
  derivations: Derivation[];
}

/** Parses `name <name>` and `derivation <name> <anode> <cathode>` lines (`#` comments). */
export function parseBipolarMontage(text: string, path = "<bipolar>"): BipolarMontage {
  const m: BipolarMontage = { name: "", derivations: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const f = raw.replace(/#.*$/, "").trim().split(/\s+/);
    if (f[0] === "") return;
    if (f[0] === "name") m.name = f.slice(1).join(" ");
    else if (f[0] === "derivation" && f.length === 4) m.derivations.push({ name: f[1]!, anode: f[2]!, cathode: f[3]! });
    else throw new FormatError({ path, field: `line ${i + 1}` }, `expected "name <name>" or "derivation <name> <anode> <cathode>", got "${raw.trim()}"`);
  });
  return m;
}

/** Loads a bundled bipolar montage from `sensors/<name>.txt` (`tcp-double-banana`). */
export function loadBipolarMontage(name: string): BipolarMontage {
  const path = join(SENSORS_DIR, `${name}.txt`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError("bipolar montage", `unknown bipolar montage "${name}" (no ${path})`);
  }
  const m = parseBipolarMontage(text, path);
  if (m.derivations.length === 0) throw new ConfigError("bipolar montage", `"${name}" holds no derivations`);
  return m;
}

function findChannel(rec: Recording, label: string): number {
  const keys = rec.channels.map((c) => labelKey(c.name));
  let i = keys.indexOf(labelKey(label));
  const alias = CHANNEL_LOC_ALIASES[label] ?? CHANNEL_LOC_ALIASES[label.toUpperCase()];
  if (i < 0 && alias) i = keys.indexOf(alias.toUpperCase());
  return i;
}

/**
 * Re-references a Recording to a bipolar montage: one channel per derivation,
 * `anode − cathode` (same unit), matched by normalised label (`EEG FP1-REF`
 * is `Fp1`; old names fall back to MNE's aliases, T3 → T7). A derivation is
 * bad when either electrode is; its sensor sits midway between the two
 * electrodes' sensors when both are known (orientation zero, as for EEG).
 * Channel-specific annotations move to the derivations that use their channels.
 */
export function applyBipolar(rec: Recording, montage: BipolarMontage): Recording {
  const pairs = montage.derivations.map((d) => [findChannel(rec, d.anode), findChannel(rec, d.cathode)] as const);
  const missing = montage.derivations.flatMap((d, k) => [pairs[k]![0] < 0 ? d.anode : null, pairs[k]![1] < 0 ? d.cathode : null]).filter((x): x is string => x !== null);
  if (missing.length) throw new ConfigError("bipolar montage", `"${montage.name}" needs electrodes the recording lacks: ${[...new Set(missing)].join(", ")}`);
  const ns = nSamples(rec);
  const buf = new Float32Array(pairs.length * ns);
  const bad = new Set(rec.bads);
  const channels: ChannelInfo[] = [];
  const bads: string[] = [];
  montage.derivations.forEach((d, k) => {
    const [a, c] = pairs[k]!;
    const xa = channelData(rec, a);
    const xc = channelData(rec, c);
    const out = buf.subarray(k * ns, (k + 1) * ns);
    for (let t = 0; t < ns; t++) out[t] = xa[t]! - xc[t]!;
    const ca = rec.channels[a]!;
    const cc = rec.channels[c]!;
    const ch: ChannelInfo = { name: d.name, kind: ca.kind, unit: ca.unit, origUnit: ca.origUnit };
    if (ca.sensor && cc.sensor) {
      const mid = ca.sensor.position.map((v, i) => (v + cc.sensor!.position[i]!) / 2) as Vec3;
      ch.sensor = { position: mid, orientation: [0, 0, 0], type: ca.sensor.type };
    }
    channels.push(ch);
    if (bad.has(ca.name) || bad.has(cc.name)) bads.push(d.name);
  });
  const annotations: Annotation[] = [];
  for (const an of rec.annotations) {
    if (!an.channels) {
      annotations.push({ ...an });
      continue;
    }
    const used = new Set(an.channels);
    const derived = montage.derivations.filter((_, k) => used.has(rec.channels[pairs[k]![0]]!.name) || used.has(rec.channels[pairs[k]![1]]!.name)).map((d) => d.name);
    if (derived.length) annotations.push({ ...an, channels: derived });
  }
  return { ...rec, data: ndarray(buf, [pairs.length, ns]), channels, bads, annotations, segments: rec.segments.map((s) => ({ ...s })) };
}
