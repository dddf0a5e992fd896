/**
 * Runs data-heavy commands with glibc's transparent-huge-page tunable.
 *
 * Why: with transparent huge pages in `madvise` mode (a common Linux
 * default, and this machine's), only memory that asks for huge pages gets
 * them. numpy asks for every large array; V8 never does, so each fresh 4 KiB
 * page of a new recording faults on its own. Measured here: 3.4 ms per MB,
 * ~0.9 s of CPU for an hour of 64 channels, three times the FIR notch filter
 * that writes it. `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (glibc ≥ 2.35;
 * older ones ignore it) makes glibc's malloc ask, for V8's array buffers too
 * (that notch: 1.18 → 0.29 s of CPU). Tunables are read when a process
 * starts, so the CLI starts itself again with it (one more Node start-up,
 * ~40 ms). `NEUROCODE_HUGEPAGES=0` opts out; library users set the variable
 * themselves.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { Worker } from "node:worker_threads";

/**
 * Commands that hold whole recordings in memory. `convert` streams and stays
 * one fast process; `run` too, because its kill-and-resume contract wants the
 * process a supervisor kills to be the one writing (a restarted child
 * outlives a SIGKILL of its parent by up to the watchdog's 0.1 s, time to
 * leave a temporary file behind the resumed run's clean-up).
 */
const HEAVY = new Set(["preprocess", "tokenize"]);

const TUNABLE = "glibc.malloc.hugetlb=1";

/** The THP mode the kernel reports (`always`, `madvise`, `never`), or null off Linux. */
function thpMode(): string | null {
  try {
    return /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * The `GLIBC_TUNABLES` value to restart with for `command`, or null when
 * there is no point: not a heavy command, opted out, already set, or the
 * kernel gives huge pages to everyone (`always`) or to no one (`never`).
 */
export function hugePagesTunables(command: string | undefined, env: NodeJS.ProcessEnv, mode: string | null): string | null {
  if (!command || !HEAVY.has(command) || env["NEUROCODE_HUGEPAGES"] === "0" || mode !== "madvise") return null;
  const current = env["GLIBC_TUNABLES"];
  if (current?.includes("glibc.malloc.hugetlb")) return null;
  return current ? `${current}:${TUNABLE}` : TUNABLE;
}

/** Set in the restarted child: the pid of the process that waits for it. */
const PARENT_ENV = "NEUROCODE_PARENT_PID";

/**
 * When `hugePagesTunables` says so, runs this same command line in a child
 * Node with the tunable and returns its exit code (128 + signal number if it
 * was killed); otherwise null and the caller carries on itself.
 */
export function rerunWithHugePages(argv: readonly string[], mode?: string | null): number | null {
  // Every CLI start comes through here: other commands leave before the kernel's setting is read.
  if (!HEAVY.has(argv[2] ?? "")) return null;
  const tunables = hugePagesTunables(argv[2], process.env, mode === undefined ? thpMode() : mode);
  if (!tunables) return null;
  const child = spawnSync(process.execPath, [...process.execArgv, ...argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, GLIBC_TUNABLES: tunables, [PARENT_ENV]: String(process.pid) },
  });
  if (child.error) return null;
  if (child.signal) return 128 + (constants.signals[child.signal] ?? 0);
  return child.status ?? 1;
}

/**
 * In a restarted child: ends this process within ~0.1 s of the parent's
 * death. A supervisor that kills the CLI (a job scheduler, `kill -9`, a
 * test) kills the pid it started; without this the child would run on,
 * orphaned. The check runs on its own (unref'd) worker thread because the
 * main thread may be inside a long synchronous filter.
 */
export function exitWithParent(): void {
  const parent = Number(process.env[PARENT_ENV]);
  if (!Number.isInteger(parent) || parent <= 0) return;
  const watch = `setInterval(() => { if (process.ppid !== ${parent}) process.kill(process.pid, "SIGKILL"); }, 100);`;
  new Worker(watch, { eval: true }).unref();
}
