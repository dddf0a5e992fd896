import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, FormatError, ValueError } from "../errors.js";
import { applyTransform, type RigidTransform } from "./fif-sensor.js";

export type Vec3 = [number, number, number];

/** Frame of a montage's coordinates: MNE's `head`, `mri` (fsaverage/MNI-like) or `unknown` (the file's own). */
export type MontageFrame = "head" | "mri" | "unknown";

/** Electrode positions (metres) with optional fiducials, as in `sensors/<name>.txt`. */
export interface Montage {
  name: string;
  frame: MontageFrame;
  labels: string[];
  /** Metres, in `frame`; same order as `labels`. */
  positions: Vec3[];
  nasion?: Vec3;
  lpa?: Vec3;
  rpa?: Vec3;
}

/** The folder holding the bundled montage files (`sensors/` at the package root, beside `src/` and `dist/`). */
export const SENSORS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "sensors");

const FRAMES: readonly MontageFrame[] = ["head", "mri", "unknown"];

function num(s: string | undefined, path: string, line: number): number {
  const v = Number(s);
  if (s === undefined || s === "" || !Number.isFinite(v)) throw new FormatError({ path, field: `line ${line}` }, `expected a number, got "${s ?? ""}"`);
  return v;
}

/**
 * Parses the neurocode montage text format (see `sensors/README.md`): lines
 * `name <name>`, `frame <head|mri|unknown>`, `fiducial <nasion|lpa|rpa> x y z`,
 * `electrode <label> x y z` (metres); `#` starts a comment.
 */
export function parseMontage(text: string, path = "<montage>"): Montage {
  const m: Montage = { name: "", frame: "unknown", labels: [], positions: [] };
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const f = line.split(/\s+/);
    const at = i + 1;
    const xyz = (k: number): Vec3 => [num(f[k], path, at), num(f[k + 1], path, at), num(f[k + 2], path, at)];
    switch (f[0]) {
      case "name":
        m.name = f.slice(1).join(" ");
        break;
      case "frame":
        if (!FRAMES.includes(f[1] as MontageFrame)) throw new FormatError({ path, field: `line ${at}` }, `unknown frame "${f[1]}" (one of ${FRAMES.join(", ")})`);
        m.frame = f[1] as MontageFrame;
        break;
      case "fiducial":
        if (f[1] !== "nasion" && f[1] !== "lpa" && f[1] !== "rpa") throw new FormatError({ path, field: `line ${at}` }, `unknown fiducial "${f[1]}"`);
        m[f[1]] = xyz(2);
        break;
      case "electrode":
        if (f.length !== 5) throw new FormatError({ path, field: `line ${at}` }, "expected: electrode <label> x y z");
        if (seen.has(f[1]!)) throw new FormatError({ path, field: `line ${at}` }, `duplicate electrode "${f[1]}"`);
        seen.add(f[1]!);
        m.labels.push(f[1]!);
        m.positions.push(xyz(2));
        break;
      default:
        throw new FormatError({ path, field: `line ${at}` }, `unknown keyword "${f[0]}"`);
    }
  });
  return m;
}

const fmt = (v: Vec3) => v.map((x) => (Object.is(x, -0) ? 0 : x).toPrecision(9).replace(/\.?0+$/, "").replace(/\.?0+e/, "e")).join(" ");

/** Writes a montage in the neurocode text format (inverse of `parseMontage`). */
export function formatMontage(m: Montage, comments: string[] = []): string {
  const out = [...comments.map((c) => `# ${c}`), `name ${m.name}`, `frame ${m.frame}`];
  for (const k of ["nasion", "lpa", "rpa"] as const) if (m[k]) out.push(`fiducial ${k} ${fmt(m[k])}`);
  m.labels.forEach((l, i) => out.push(`electrode ${l} ${fmt(m.positions[i]!)}`));
  return out.join("\n") + "\n";
}

/** Names of the montages bundled in `sensors/` (files `<name>.txt` holding electrode lines). */
export function builtinMontages(): string[] {
  return readdirSync(SENSORS_DIR)
    .filter((f) => f.endsWith(".txt") && /^electrode /m.test(readFileSync(join(SENSORS_DIR, f), "utf8")))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** Loads a bundled montage by name (`standard_1020`, `standard_1005`, `biosemi64`, `easycap-M1`, `GSN-HydroCel-129`, `mgh60`...). */
export function loadMontage(name: string): Montage {
  const path = join(SENSORS_DIR, `${name}.txt`);
  const m = /^[\w.-]+$/.test(name) && existsSync(path) ? parseMontage(readFileSync(path, "utf8"), path) : null;
  if (!m || m.labels.length === 0) throw new ConfigError("montage", `unknown montage "${name}" (bundled: ${builtinMontages().join(", ")})`);
  return m;
}

function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}
function unit(a: Vec3): Vec3 {
  const n = Math.hypot(...a);
  if (!(n > 0)) throw new ValueError("fiducials are degenerate (coincident points)");
  return [a[0] / n, a[1] / n, a[2] / n];
}

/**
 * The transform from a montage's frame to the Neuromag head frame defined by
 * its fiducials (x through LPA→RPA, y toward the nasion, origin on the
 * LPA–RPA line), as MNE's `get_ras_to_neuromag_trans`. Identity when the
 * montage is already in the head frame or lacks fiducials (MNE assumes the
 * same, with a warning).
 */
export function montageToHeadTransform(m: Montage): RigidTransform {
  const identity: RigidTransform = { rot: [1, 0, 0, 0, 1, 0, 0, 0, 1], move: [0, 0, 0] };
  if (m.frame === "head" || !m.nasion || !m.lpa || !m.rpa) return identity;
  const right = unit(sub(m.rpa, m.lpa));
  const d = sub(m.nasion, m.lpa);
  const along = d[0] * right[0] + d[1] * right[1] + d[2] * right[2];
  const origin: Vec3 = [m.lpa[0] + along * right[0], m.lpa[1] + along * right[1], m.lpa[2] + along * right[2]];
  const anterior = unit(sub(m.nasion, origin));
  const superior: Vec3 = [
    right[1] * anterior[2] - right[2] * anterior[1],
    right[2] * anterior[0] - right[0] * anterior[2],
    right[0] * anterior[1] - right[1] * anterior[0],
  ];
  const rot = [...right, ...anterior, ...superior];
  const move = [0, 1, 2].map((i) => -(rot[3 * i]! * origin[0] + rot[3 * i + 1]! * origin[1] + rot[3 * i + 2]! * origin[2]));
  return { rot, move };
}

/** The montage moved into the head frame (positions and fiducials). */
export function montageInHead(m: Montage): Montage {
  const t = montageToHeadTransform(m);
  const move = (p: Vec3 | undefined) => (p ? applyTransform(t, p) : undefined);
  const out: Montage = { name: m.name, frame: "head", labels: [...m.labels], positions: m.positions.map((p) => applyTransform(t, p)) };
  for (const k of ["nasion", "lpa", "rpa"] as const) {
    const v = move(m[k]);
    if (v) out[k] = v;
  }
  return out;
}
