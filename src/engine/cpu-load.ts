import { readFileSync } from "node:fs";

/*
 * How many cores other processes have been using lately, for thread-pool
 * decisions on a shared machine. A pooled product only gains when the pool's
 * second thread gets a core; the process's own CPU/wall ratio is a poor
 * witness of that (products with serial parts, such as XNNPACK packing a
 * large operand, read 1.2-1.5 with the other core idle), while the machine's
 * busy time minus this process's own CPU time says it directly.
 */

/** Kernel clock ticks per second of /proc/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
/** Shortest window (ms) between two readings; /proc/stat counts in 10 ms ticks. */
const WINDOW_MS = 250;

const state = { available: true, at: -Infinity, busyMs: 0, ownMs: 0, others: 0 };

/** Busy time (ms) of all cores since boot, from the first line of /proc/stat; null when it cannot be read. */
function machineBusyMs(): number | null {
  try {
    const text = readFileSync("/proc/stat", "latin1");
    const fields = text.slice(0, text.indexOf("\n")).trim().split(/\s+/).slice(1, 9).map(Number);
    if (fields.length < 5 || fields.some((v) => !Number.isFinite(v))) return null;
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    const busy = fields.reduce((s, v) => s + v, 0) - fields[3]! - fields[4]!;
    return (busy * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * Cores' worth of CPU time that other processes used over the last window of
 * at least 250 ms (e.g. 1 = one core fully busy elsewhere), updated at most
 * once per window; 0 before the first full window. `null` where /proc/stat
 * does not exist (not Linux): callers fall back to their own measure.
 */
export function otherProcessesLoad(): number | null {
  if (!state.available) return null;
  const now = performance.now();
  if (now - state.at < WINDOW_MS) return state.others;
  const busyMs = machineBusyMs();
  if (busyMs === null) {
    state.available = false;
    return null;
  }
  const own = process.cpuUsage();
  const ownMs = (own.user + own.system) / 1000;
  if (state.at > -Infinity) state.others = Math.max(0, busyMs - state.busyMs - (ownMs - state.ownMs)) / (now - state.at);
  Object.assign(state, { at: now, busyMs, ownMs });
  return state.others;
}
