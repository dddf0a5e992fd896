/**
 * One error hierarchy for the whole toolkit. Every error a user can cause with
 * bad input is a `NeurocodeError`; the CLI prints it on one line and exits 1.
 * Anything else that escapes is a bug in neurocode.
 */
export class NeurocodeError extends Error {
  override name = "NeurocodeError";
}

/** Context of a `FormatError`: which file, which field, and where in the bytes. */
export interface FormatErrorContext {
  /** Path of the file (or a label such as `<buffer>`). */
  path: string;
  /** The header field, tag or structure being read, e.g. `header.nRecords`. */
  field: string;
  /** Byte offset in the file where the offending field starts, when known. */
  offset?: number;
}

/** A file cannot be read as what it claims to be (truncated, corrupt, unsupported). */
export class FormatError extends NeurocodeError {
  override name = "FormatError";
  readonly path: string;
  readonly field: string;
  readonly offset: number | undefined;
  /** The problem alone, without the location prefix. */
  readonly reason: string;

  constructor(ctx: FormatErrorContext, reason: string) {
    const at = ctx.offset === undefined ? "" : ` at byte ${ctx.offset}`;
    super(`${ctx.path}: ${ctx.field}${at}: ${reason}`);
    this.path = ctx.path;
    this.field = ctx.field;
    this.offset = ctx.offset;
    this.reason = reason;
  }
}

/** A file cannot be opened, read or written (missing, a folder, no permission). */
export class FileAccessError extends NeurocodeError {
  override name = "FileAccessError";
  readonly path: string;
  /** The system error code (`ENOENT`, `EACCES`, `EISDIR`...). */
  readonly code: string;
  constructor(path: string, code: string, reason: string) {
    super(`${path}: ${reason}`);
    this.path = path;
    this.code = code;
  }
}

const SYSTEM_REASONS: Record<string, string> = {
  ENOENT: "no such file or folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a folder, not a file",
  ENOTDIR: "a part of the path is not a folder",
  ENOSPC: "no space left on the device",
  EROFS: "the file system is read-only",
  EMFILE: "too many open files",
};

/**
 * Turns a Node system error (one with a string `code` such as `ENOENT`) into
 * a `FileAccessError` naming `path`; returns anything else unchanged.
 */
export function asFileAccessError(e: unknown, path: string): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== "string" || !/^E[A-Z]+$/.test(code)) return e;
  return new FileAccessError(path, code, SYSTEM_REASONS[code] ?? (e as Error).message);
}

/** A configuration value (CLI option, YAML key, function option) is invalid. */
export class ConfigError extends NeurocodeError {
  override name = "ConfigError";
  /** Dotted key path such as `stages[2].bandpass`, or the option name. */
  readonly keyPath: string;
  constructor(keyPath: string, reason: string) {
    super(`${keyPath}: ${reason}`);
    this.keyPath = keyPath;
  }
}

/** An array or tensor does not have the shape an operation needs. */
export class ShapeError extends NeurocodeError {
  override name = "ShapeError";
  readonly expected: readonly (number | string | null)[];
  readonly actual: readonly number[];
  constructor(what: string, expected: readonly (number | string | null)[], actual: readonly number[]) {
    super(`${what}: expected shape [${expected.map((d) => d ?? "*").join(", ")}], got [${actual.join(", ")}]`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A value is outside what an operation accepts (NaN, out of range, unknown name). */
export class ValueError extends NeurocodeError {
  override name = "ValueError";
}
