import { InvalidArgumentError } from "commander";

/** Parses a CLI number (Hz, seconds...) or fails with commander's usage error. */
export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`"${value}" is not a number`);
  return n;
}

/** Parses a comma-separated list of channel names. */
export function parseList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}
