import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, FormatError } from "../errors.js";
import { SENSORS_DIR } from "./montage.js";

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

/** A montage's derivations as `[anode, cathode, name]` pairs (what `signal`'s `setReference` takes). */
export function montagePairs(montage: BipolarMontage): [string, string, string][] {
  return montage.derivations.map((d) => [d.anode, d.cathode, d.name]);
}
