import { readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ConfigError } from "../errors.js";

/**
 * Converts a glob (`*` within a folder, `**` across folders, `?` one
 * character, `{a,b}` alternatives) to a regular expression over
 * `/`-separated relative paths. Matching is case-insensitive on the
 * extension's behalf: EDF files named `.EDF` are common.
 */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const slash = glob[i + 2] === "/";
        re += slash ? "(?:.*/)?" : ".*";
        i += slash ? 2 : 1;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "{") {
      const end = glob.indexOf("}", i);
      if (end < 0) throw new ConfigError("read.include", `unclosed "{" in glob ${glob}`);
      re += `(?:${glob.slice(i + 1, end).split(",").map((s) => s.replace(/[.+^$()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")).join("|")})`;
      i = end;
    } else re += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "i");
}

/**
 * Files under `root` matching any `include` glob and no `exclude` glob, as
 * `/`-separated paths relative to `root`, sorted so runs are reproducible.
 * Hidden files and folders (`.name`, including neurocode's temporaries) are skipped.
 */
export function findInputs(root: string, include: string[], exclude: string[] = []): string[] {
  let st;
  try {
    st = statSync(root);
  } catch {
    throw new ConfigError("--input", `"${root}" does not exist`);
  }
  if (!st.isDirectory()) throw new ConfigError("--input", `"${root}" is not a folder`);
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) {
        const rel = relative(root, full).split(sep).join("/");
        if (inc.some((r) => r.test(rel)) && !exc.some((r) => r.test(rel))) out.push(rel);
      }
    }
  };
  walk(root);
  return out.sort();
}
