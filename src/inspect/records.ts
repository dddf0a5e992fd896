import { ConfigError, ValueError } from "../errors.js";
import {
  MEDIAN_SAMPLE,
  resolveRowStatsOptions,
  topKScratch,
  rowLayout,
  rowStats,
  updateStats,
  type RowStatsOptions,
} from "./stats.js";

/**
 * Activation records in columns: one row per (module, call, batch item,
 * position). This is what the recorder produces, what `activationsToArrow`
 * writes and what every analysis in `src/inspect` reads.
 *
 * Float columns hold NaN where a statistic does not apply (update statistics of
 * a module whose input and output shapes differ).
 */
export interface ActivationTable {
  /** Dotted module name (`blocks.3.ffn`). */
  module: string[];
  /** 0-based index of the module's call since recording started. */
  call: Int32Array;
  /** Free label of the pass, e.g. `prompt` / `generated` (empty when unset). */
  phase: string[];
  /** Batch item. */
  batch: Int32Array;
  /** Token or window index (flattened middle axes; 0 for `[B, d]` outputs). */
  position: Int32Array;
  /** Features in the row. */
  width: Int32Array;
  l2: Float64Array;
  mean: Float64Array;
  maxAbs: Float64Array;
  argMaxAbs: Int32Array;
  medianAbs: Float64Array;
  fracZero: Float64Array;
  fracNearZero: Float64Array;
  /** Fraction of features > 0 (what a following ReLU would keep). */
  fracPositive: Float64Array;
  /** Largest-|x| feature indices per row, largest first. */
  topIndices: Int32Array[];
  topValues: Float32Array[];
  /** ‖first input‖₂ of the row (NaN when input and output shapes differ). */
  inL2: Float64Array;
  /** ‖out − in‖₂ (NaN when shapes differ). */
  updateL2: Float64Array;
  /** cos(out − in, in) (NaN when shapes differ or a side is zero). */
  updateCos: Float64Array;
  /** The row's values when full tensors were recorded and fitted the byte budget; else null. */
  values: (Float32Array | null)[];
  /** Table-level facts kept in the Arrow schema metadata. */
  meta: ActivationMeta;
}

/** Table-level facts of an `ActivationTable`. */
export interface ActivationMeta {
  topK: number;
  nearZeroEps: number;
  /** Whether per-row medians were estimated (`medianAbs` is NaN otherwise). */
  median: boolean;
  /** Rows whose values were not kept because the byte budget was spent. */
  droppedValueRows: number;
  /** Anything else a producer wants to keep (model name, checkpoint, input files). */
  extra: Record<string, string>;
}

/** Options of `ActivationTableBuilder`. */
export interface TableBuilderOptions extends RowStatsOptions {
  /** Keep the row values too (default false: summary statistics only). */
  fullTensors?: boolean;
  /** Most bytes of row values to keep when `fullTensors` (default 64 MiB); later rows keep statistics only. */
  byteBudget?: number;
}

/** One module call to add to a table: the output (and optionally first input) as flat row-major data. */
export interface CallRecord {
  module: string;
  call: number;
  phase?: string;
  shape: readonly number[];
  output: Float32Array;
  /** The module's first input, used for the update statistics when its shape equals `shape`. */
  input?: { shape: readonly number[]; data: Float32Array } | undefined;
}

/** Accumulates module calls into an `ActivationTable` (summary statistics computed on the way in). */
export class ActivationTableBuilder {
  private readonly stats: Required<RowStatsOptions>;
  private readonly fullTensors: boolean;
  private readonly byteBudget: number;
  private bytesKept = 0;
  private dropped = 0;
  private readonly scratch = new Float64Array(MEDIAN_SAMPLE);
  private readonly top: ReturnType<typeof topKScratch>;
  private cols = ActivationTableBuilder.emptyColumns();

  private static emptyColumns() {
    return {
    module: [] as string[],
    call: [] as number[],
    phase: [] as string[],
    batch: [] as number[],
    position: [] as number[],
    width: [] as number[],
    l2: [] as number[],
    mean: [] as number[],
    maxAbs: [] as number[],
    argMaxAbs: [] as number[],
    medianAbs: [] as number[],
    fracZero: [] as number[],
    fracNearZero: [] as number[],
    fracPositive: [] as number[],
    /** Row r's top-k entries are topIndices[topStart[r] .. topStart[r + 1]). */
    topStart: [0] as number[],
    topIndices: [] as number[],
    topValues: [] as number[],
    inL2: [] as number[],
    updateL2: [] as number[],
    updateCos: [] as number[],
    values: [] as (Float32Array | null)[],
    };
  }

  constructor(opts: TableBuilderOptions = {}) {
    this.stats = resolveRowStatsOptions(opts);
    this.top = topKScratch(this.stats.topK);
    this.fullTensors = opts.fullTensors ?? false;
    this.byteBudget = opts.byteBudget ?? 64 * 1024 * 1024;
    if (!(this.byteBudget >= 0)) throw new ConfigError("byteBudget", `must be ≥ 0 bytes, got ${this.byteBudget}`);
  }

  /** Rows added so far. */
  get numRows(): number {
    return this.cols.module.length;
  }

  /** Adds every row of one module call. */
  add(rec: CallRecord): void {
    const { batch, positions, width } = rowLayout(rec.shape, `${rec.module} output`);
    const inp = rec.input && sameShape(rec.input.shape, rec.shape) ? rec.input.data : null;
    const c = this.cols;
    for (let b = 0; b < batch; b++) {
      for (let p = 0; p < positions; p++) {
        const off = (b * positions + p) * width;
        const s = rowStats(rec.output, off, width, this.stats, this.scratch, this.top);
        c.module.push(rec.module);
        c.call.push(rec.call);
        c.phase.push(rec.phase ?? "");
        c.batch.push(b);
        c.position.push(p);
        c.width.push(width);
        c.l2.push(s.l2);
        c.mean.push(s.mean);
        c.maxAbs.push(s.maxAbs);
        c.argMaxAbs.push(s.argMaxAbs);
        c.medianAbs.push(s.medianAbs);
        c.fracZero.push(s.fracZero);
        c.fracNearZero.push(s.fracNearZero);
        c.fracPositive.push(s.fracPositive);
        for (let j = 0; j < s.topIndices.length; j++) {
          c.topIndices.push(s.topIndices[j]!);
          c.topValues.push(s.topValues[j]!);
        }
        c.topStart.push(c.topIndices.length);
        if (inp) {
          const u = updateStats(inp, rec.output, off, width);
          c.inL2.push(u.inL2);
          c.updateL2.push(u.updateL2);
          c.updateCos.push(u.updateCos);
        } else {
          c.inL2.push(NaN);
          c.updateL2.push(NaN);
          c.updateCos.push(NaN);
        }
        c.values.push(this.fullTensors ? this.keep(rec.output, off, width) : null);
      }
    }
  }

  private keep(x: Float32Array, off: number, width: number): Float32Array | null {
    const bytes = width * 4;
    if (this.bytesKept + bytes > this.byteBudget) {
      this.dropped++;
      return null;
    }
    this.bytesKept += bytes;
    return x.slice(off, off + width);
  }

  /**
   * Forgets the rows added so far (after they were written, when streaming);
   * the byte budget stays spent, so it bounds all values ever kept.
   */
  clear(): void {
    this.cols = ActivationTableBuilder.emptyColumns();
    this.dropped = 0;
  }

  /** The table so far (the builder can keep adding; later calls return longer tables). */
  finish(extra: Record<string, string> = {}): ActivationTable {
    const c = this.cols;
    return {
      module: [...c.module],
      call: Int32Array.from(c.call),
      phase: [...c.phase],
      batch: Int32Array.from(c.batch),
      position: Int32Array.from(c.position),
      width: Int32Array.from(c.width),
      l2: Float64Array.from(c.l2),
      mean: Float64Array.from(c.mean),
      maxAbs: Float64Array.from(c.maxAbs),
      argMaxAbs: Int32Array.from(c.argMaxAbs),
      medianAbs: Float64Array.from(c.medianAbs),
      fracZero: Float64Array.from(c.fracZero),
      fracNearZero: Float64Array.from(c.fracNearZero),
      fracPositive: Float64Array.from(c.fracPositive),
      topIndices: splitRows(Int32Array.from(c.topIndices), c.topStart),
      topValues: splitRows(Float32Array.from(c.topValues), c.topStart),
      inL2: Float64Array.from(c.inL2),
      updateL2: Float64Array.from(c.updateL2),
      updateCos: Float64Array.from(c.updateCos),
      values: [...c.values],
      meta: { topK: this.stats.topK, nearZeroEps: this.stats.nearZeroEps, median: this.stats.median, droppedValueRows: this.dropped, extra: { ...extra } },
    };
  }
}

function splitRows<T extends Int32Array | Float32Array>(flat: T, start: readonly number[]): T[] {
  return start.slice(0, -1).map((s, r) => flat.subarray(s, start[r + 1]) as T);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Module names of a table in first-seen order (the order the model called them). */
export function moduleOrder(t: ActivationTable): string[] {
  return [...new Set(t.module)];
}

/** Row indices of a table grouped by a key, groups in first-seen order. */
export function groupRows(n: number, key: (row: number) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (let r = 0; r < n; r++) {
    const k = key(r);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  return groups;
}

/**
 * Rows of several tables (e.g. the parts of a streamed recording) in one table,
 * in order. Table-level facts come from the first table; dropped-row counts add up.
 */
export function concatActivationTables(parts: readonly ActivationTable[]): ActivationTable {
  if (parts.length === 0) throw new ValueError("no activation tables to concatenate");
  const cat = <T extends Int32Array | Float64Array>(pick: (t: ActivationTable) => T, Ctor: new (n: number) => T): T => {
    const out = new Ctor(parts.reduce((n, t) => n + pick(t).length, 0));
    let o = 0;
    for (const t of parts) {
      out.set(pick(t), o);
      o += pick(t).length;
    }
    return out;
  };
  const first = parts[0]!;
  return {
    module: parts.flatMap((t) => t.module),
    call: cat((t) => t.call, Int32Array),
    phase: parts.flatMap((t) => t.phase),
    batch: cat((t) => t.batch, Int32Array),
    position: cat((t) => t.position, Int32Array),
    width: cat((t) => t.width, Int32Array),
    l2: cat((t) => t.l2, Float64Array),
    mean: cat((t) => t.mean, Float64Array),
    maxAbs: cat((t) => t.maxAbs, Float64Array),
    argMaxAbs: cat((t) => t.argMaxAbs, Int32Array),
    medianAbs: cat((t) => t.medianAbs, Float64Array),
    fracZero: cat((t) => t.fracZero, Float64Array),
    fracNearZero: cat((t) => t.fracNearZero, Float64Array),
    fracPositive: cat((t) => t.fracPositive, Float64Array),
    topIndices: parts.flatMap((t) => t.topIndices),
    topValues: parts.flatMap((t) => t.topValues),
    inL2: cat((t) => t.inL2, Float64Array),
    updateL2: cat((t) => t.updateL2, Float64Array),
    updateCos: cat((t) => t.updateCos, Float64Array),
    values: parts.flatMap((t) => t.values),
    meta: { ...first.meta, droppedValueRows: parts.reduce((n, t) => n + t.meta.droppedValueRows, 0) },
  };
}
