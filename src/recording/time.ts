/**
 * A UTC instant with sub-microsecond precision. A float64 of seconds since
 * 1970 only resolves ~0.24 µs today, and EDF+ sub-second starts carry 7
 * decimals, so the whole seconds and the fraction are kept apart.
 */
export interface UtcTime {
  /** Whole seconds since 1970-01-01T00:00:00Z (an integer). */
  unixSeconds: number;
  /** Fraction of a second in [0, 1). */
  fraction: number;
}

/** Builds a `UtcTime` from calendar fields (UTC) and a fraction of a second. */
export function utcTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  fraction = 0,
): UtcTime {
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  return { unixSeconds: Math.floor(ms / 1000), fraction };
}

/** Shifts a time by `seconds` (may be negative or fractional). */
export function addSeconds(t: UtcTime, seconds: number): UtcTime {
  const whole = Math.floor(seconds);
  let fraction = t.fraction + (seconds - whole);
  let unixSeconds = t.unixSeconds + whole;
  if (fraction >= 1) {
    fraction -= 1;
    unixSeconds += 1;
  }
  return { unixSeconds, fraction };
}

/**
 * ISO 8601 with the fraction written in as many digits as it needs (up to 9),
 * e.g. `2020-01-24T04:05:56.3945312Z`.
 */
export function toIso(t: UtcTime): string {
  const base = new Date(t.unixSeconds * 1000).toISOString().slice(0, 19);
  if (t.fraction === 0) return `${base}Z`;
  let frac = t.fraction.toFixed(9).slice(2).replace(/0+$/, "");
  if (frac === "") frac = "0";
  return `${base}.${frac}Z`;
}

/** Parses an ISO 8601 UTC string (as written by `toIso`) back to a `UtcTime`. */
export function fromIso(s: string): UtcTime {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$/.exec(s);
  if (!m) throw new RangeError(`not an ISO 8601 UTC time: ${s}`);
  const frac = m[7] ? Number(`0.${m[7]}`) : 0;
  return utcTime(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!, frac);
}

/** Calendar fields of a time in UTC. */
export function utcFields(t: UtcTime): {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
} {
  const d = new Date(t.unixSeconds * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}
