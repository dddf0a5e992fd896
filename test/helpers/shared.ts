import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root (where package.json is). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Absolute path of a file under `../shared/data/` (relative to the project
 * root). Throws when it is missing: a test that needs shared data must fail,
 * never skip, when the data is not there.
 */
export function sharedData(rel: string): string {
  const p = join(ROOT, "..", "shared", "data", rel);
  if (!existsSync(p)) throw new Error(`shared data file missing: ${p} (tests expect ../shared/data beside the project root)`);
  return p;
}

/** Absolute path of a committed golden file under `test/golden/`. */
export function golden(rel: string): string {
  const p = join(ROOT, "test", "golden", rel);
  if (!existsSync(p)) throw new Error(`golden file missing: ${p} (regenerate with the script in test/reference/)`);
  return p;
}
