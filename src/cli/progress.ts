/**
 * Progress display for long commands: a redrawn status line on a terminal,
 * nothing (but the final summary) when stderr is not a terminal, or one JSON
 * object per event on stdout with `--log-json`.
 */
export interface ProgressBar {
  /** Sets the bar's state: `done` of `total` units, with a label. */
  update(done: number, total: number, label?: string): void;
  /** Clears the line (call before printing anything else). */
  clear(): void;
}

/** A one-line text progress bar on stderr; silent when stderr is not a TTY. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const tty = Boolean(stream.isTTY);
  let last = 0;
  return {
    update(done, total, label = "") {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 24;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const fill = Math.round(frac * width);
      const cols = stream.columns ?? 80;
      const line = `[${"#".repeat(fill)}${".".repeat(width - fill)}] ${done}/${total} ${label}`;
      stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length + 4))}`);
    },
    clear() {
      if (tty) stream.write(`\r${" ".repeat((stream.columns ?? 80) - 1)}\r`);
    },
  };
}
