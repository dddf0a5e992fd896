import { ConfigError } from "../errors.js";

/**
 * A module-name pattern: a RegExp, a string `/regex/flags`, or a glob over
 * dotted names where `*` matches within one segment (`blocks.*.ffn`), `**`
 * matches any run of characters including dots (`**.attn`), and `?` one
 * non-dot character. A glob must match the whole name.
 */
export type NamePattern = string | RegExp;

/** Compiles patterns into one predicate that is true when any pattern matches. */
export function nameMatcher(patterns: NamePattern | readonly NamePattern[]): (name: string) => boolean {
  const list = Array.isArray(patterns) ? (patterns as readonly NamePattern[]) : [patterns as NamePattern];
  if (list.length === 0) throw new ConfigError("record", "no module-name pattern given");
  const res = list.map(toRegExp);
  return (name) => res.some((re) => re.test(name));
}

function toRegExp(p: NamePattern): RegExp {
  if (p instanceof RegExp) return new RegExp(p.source, p.flags.replace(/[gy]/g, ""));
  const m = /^\/(.*)\/([a-z]*)$/s.exec(p);
  if (m) {
    try {
      return new RegExp(m[1]!, m[2]!.replace(/[gy]/g, ""));
    } catch (e) {
      throw new ConfigError("record", `invalid regular expression ${p}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (p === "") throw new ConfigError("record", "empty module-name pattern");
  let src = "";
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === "*" && p[i + 1] === "*") {
      src += ".*";
      i++;
    } else if (ch === "*") src += "[^.]*";
    else if (ch === "?") src += "[^.]";
    else src += ch.replace(/[\\^$+.()|{}[\]]/g, "\\$&");
  }
  return new RegExp(`^${src}$`);
}
