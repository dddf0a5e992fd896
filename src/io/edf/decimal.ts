/**
 * Exact decimal arithmetic for EDF+ time stamps. TAL onsets are decimal
 * strings; reported onsets are "TAL onset minus the first record's onset",
 * and the writer adds the sub-second start back. Doing both in float64 would
 * lose the last bit (2.3457031 − 0.3945312 ≠ 1.9511719 in binary), so they are
 * done on scaled integers and only the result becomes a number: a value
 * written from a float comes back as the very same float.
 */

/** `n / 10^scale`. */
export interface Decimal {
  n: bigint;
  scale: number;
}

const DEC_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Parses `[+-]digits[.digits]`; returns null when the text is not such a number. */
export function parseDecimal(text: string): Decimal | null {
  const m = DEC_RE.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return null;
  const frac = m[3] ?? "";
  return { n: BigInt(`${m[1] === "-" ? "-" : ""}${m[2] || "0"}${frac}`), scale: frac.length };
}

/** The shortest decimal that reads back as `x` (JavaScript's own round-trip form, exponent expanded). */
export function decimalOf(x: number): Decimal {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (!m) throw new RangeError(`unexpected number form ${String(x)}`);
  const digits = `${m[2]}${m[3] ?? ""}`;
  let scale = (m[3] ?? "").length - Number(m[4] ?? 0);
  let n = BigInt(`${m[1]}${digits}`);
  if (scale < 0) {
    n *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { n, scale };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  // Time stamps of one file mostly share a scale: no power of ten to build then.
  if (a.scale === b.scale) return [a.n, b.n, a.scale];
  const s = Math.max(a.scale, b.scale);
  return [a.n * 10n ** BigInt(s - a.scale), b.n * 10n ** BigInt(s - b.scale), s];
}

export function addDecimal(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return { n: x + y, scale };
}

export function subDecimal(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return { n: x - y, scale };
}

/** `a * k` for an integer `k`. */
export function mulDecimal(a: Decimal, k: number): Decimal {
  return { n: a.n * BigInt(k), scale: a.scale };
}

/** Plain decimal text without trailing zeros; `signed` adds `+` to non-negative values (TAL onsets need a sign). */
export function decimalToString(d: Decimal, signed = false): string {
  const neg = d.n < 0n;
  let digits = (neg ? -d.n : d.n).toString();
  let text: string;
  if (d.scale === 0) text = digits;
  else {
    digits = digits.padStart(d.scale + 1, "0");
    const int = digits.slice(0, digits.length - d.scale);
    const frac = digits.slice(digits.length - d.scale).replace(/0+$/, "");
    text = frac === "" ? int : `${int}.${frac}`;
  }
  if (neg && text !== "0") return `-${text}`;
  return signed ? `+${text}` : text;
}

/** The nearest float64 (correctly rounded, through the decimal text). */
export function decimalToNumber(d: Decimal): number {
  return Number(decimalToString(d));
}
