import { ConfigError, ShapeError, ValueError } from "../errors.js";
import { groupRows, type ActivationTable } from "./records.js";
import { medianAbs, rowLayout } from "./stats.js";

/** Thresholds of a massive activation (Sun et al. 2024). */
export interface MassiveOptions {
  /** |x| must exceed this (default 100, in the activation's unit). */
  absThreshold?: number;
  /** |x| must be at least this many times median |x| of the hidden state (default 1000). */
  ratioThreshold?: number;
}

/** One massive activation: where it sits and how large it is. */
export interface MassiveActivation {
  module: string;
  call: number;
  batch: number;
  /** Token / window index. */
  position: number;
  /** Feature (hidden dimension) index. */
  feature: number;
  value: number;
  /** |value| / median |x| of the hidden state it belongs to. */
  ratio: number;
}

/** Massive activations of one hidden state, plus the statistics they were judged by. */
export interface MassiveReport {
  /** median |x| over the whole hidden state (all batch items, positions and features). */
  median: number;
  /** The largest |x| entries (up to 3), largest first, flagged or not. */
  top: MassiveActivation[];
  /** Entries that pass both thresholds, in row-major order. */
  flags: MassiveActivation[];
}

function resolve(opts: MassiveOptions): Required<MassiveOptions> {
  const absThreshold = opts.absThreshold ?? 100;
  const ratioThreshold = opts.ratioThreshold ?? 1000;
  if (!(absThreshold >= 0)) throw new ConfigError("absThreshold", `must be ≥ 0, got ${absThreshold}`);
  if (!(ratioThreshold >= 0)) throw new ConfigError("ratioThreshold", `must be ≥ 0, got ${ratioThreshold}`);
  return { absThreshold, ratioThreshold };
}

/**
 * Massive activations of one hidden state `h` (row-major, `shape` `[B, T, d]`,
 * `[T, d]` read as `[B=T, d]` rows, etc.; last axis = features): entries with
 * |x| > absThreshold and |x| ≥ ratioThreshold · median |h|.
 */
export function massiveActivations(
  h: Float32Array,
  shape: readonly number[],
  opts: MassiveOptions & { module?: string; call?: number } = {},
): MassiveReport {
  const { absThreshold, ratioThreshold } = resolve(opts);
  const { batch, positions, width } = rowLayout(shape, "hidden state");
  if (batch * positions * width !== h.length) throw new ShapeError("hidden state", shape, [h.length]);
  const median = medianAbs(h);
  const at = (i: number): MassiveActivation => {
    const row = Math.floor(i / width);
    return {
      module: opts.module ?? "",
      call: opts.call ?? 0,
      batch: Math.floor(row / positions),
      position: row % positions,
      feature: i % width,
      value: h[i]!,
      ratio: Math.abs(h[i]!) / median,
    };
  };
  const flags: MassiveActivation[] = [];
  const top: number[] = [];
  for (let i = 0; i < h.length; i++) {
    const a = Math.abs(h[i]!);
    if (a > absThreshold && a >= ratioThreshold * median) flags.push(at(i));
    if (top.length < 3 || a > Math.abs(h[top[top.length - 1]!]!)) {
      top.push(i);
      top.sort((x, y) => Math.abs(h[y]!) - Math.abs(h[x]!));
      if (top.length > 3) top.pop();
    }
  }
  return { median, top: top.map(at), flags };
}

/** Massive activations of every recorded hidden state: see `massiveFromTable`. */
export interface MassiveTableReport {
  flags: MassiveActivation[];
  /** Per module: the largest |x| seen, median |x| (mean over calls and batch items) and their ratio. */
  layers: { module: string; maxAbs: number; median: number; ratio: number; medianExact: boolean }[];
}

/**
 * Massive activations in recorded activations. A hidden state is one module's
 * output for one batch item in one call. With full tensors recorded the median
 * and the flags are exact; from summary statistics the median of |x| is the
 * median of the per-row medians and candidates are the rows' top-k entries
 * (exact whenever a row holds at most topK massive entries).
 */
export function massiveFromTable(t: ActivationTable, opts: MassiveOptions = {}): MassiveTableReport {
  const { absThreshold, ratioThreshold } = resolve(opts);
  const groups = groupRows(t.module.length, (r) => `${t.module[r]}\u0000${t.call[r]}\u0000${t.batch[r]}`);
  const flags: MassiveActivation[] = [];
  const perModule = new Map<string, { maxAbs: number; medians: number[]; exact: boolean }>();
  for (const rows of groups.values()) {
    const r0 = rows[0]!;
    const module = t.module[r0]!;
    const exact = rows.every((r) => t.values[r] !== null);
    let median: number;
    if (exact) {
      const all = new Float32Array(rows.reduce((s, r) => s + t.width[r]!, 0));
      let o = 0;
      for (const r of rows) {
        all.set(t.values[r]!, o);
        o += t.width[r]!;
      }
      median = medianAbs(all);
    } else {
      if (!t.meta.median) throw new ValueError(`massive activations of ${module}: record full tensors or per-row medians (median: true)`);
      median = medianAbs(Float64Array.from(rows, (r) => t.medianAbs[r]!));
    }
    const push = (r: number, feature: number, value: number) => {
      const a = Math.abs(value);
      if (a > absThreshold && a >= ratioThreshold * median) {
        flags.push({ module, call: t.call[r]!, batch: t.batch[r]!, position: t.position[r]!, feature, value, ratio: a / median });
      }
    };
    let maxAbs = 0;
    for (const r of rows) {
      maxAbs = Math.max(maxAbs, t.maxAbs[r]!);
      if (exact) t.values[r]!.forEach((v, i) => push(r, i, v));
      else t.topIndices[r]!.forEach((i, j) => push(r, i, t.topValues[r]![j]!));
    }
    const m = perModule.get(module) ?? { maxAbs: 0, medians: [], exact: true };
    m.maxAbs = Math.max(m.maxAbs, maxAbs);
    m.medians.push(median);
    m.exact &&= exact;
    perModule.set(module, m);
  }
  const layers = [...perModule].map(([module, m]) => {
    const median = m.medians.reduce((s, v) => s + v, 0) / m.medians.length;
    return { module, maxAbs: m.maxAbs, median, ratio: m.maxAbs / median, medianExact: m.exact };
  });
  return { flags, layers };
}
