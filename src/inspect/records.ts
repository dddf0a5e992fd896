import { ConfigError, ShapeError, ValueError } from "../errors.js";
import { FLOAT_STATS, resolveRowStatsOptions, rowLayout, RowStatsKernel, type FloatStat, type RowStatsOptions, type StatsColumns } from "./stats.js";

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
  /** Largest-|x| feature indices per row, largest first (fewer than topK only where a row has NaN features). */
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

/** One `add` call as the builder keeps it: per-call facts (expanded to per-row columns by `finish`) and its rows' statistics. */
interface CallRun {
  module: string;
  call: number;
  phase: string;
  batch: number;
  positions: number;
  width: number;
  stats: StatsColumns;
}

/** Accumulates module calls into an `ActivationTable` (summary statistics computed on the way in). */
export class ActivationTableBuilder {
  private readonly stats: Required<RowStatsOptions>;
  private readonly kernel: RowStatsKernel;
  private readonly fullTensors: boolean;
  private readonly byteBudget: number;
  private bytesKept = 0;
  private dropped = 0;
  private runs: CallRun[] = [];
  private rows = 0;
  private values: (Float32Array | null)[] = [];

  constructor(opts: TableBuilderOptions = {}) {
    this.stats = resolveRowStatsOptions(opts);
    this.kernel = new RowStatsKernel(this.stats);
    this.fullTensors = opts.fullTensors ?? false;
    this.byteBudget = opts.byteBudget ?? 64 * 1024 * 1024;
    if (!(this.byteBudget >= 0)) throw new ConfigError("byteBudget", `must be ≥ 0 bytes, got ${this.byteBudget}`);
  }

  /** Rows added so far. */
  get numRows(): number {
    return this.rows;
  }

  /** The statistics options in force (defaults filled in). */
  get statsOptions(): Required<RowStatsOptions> {
    return this.stats;
  }

  /** Whether `add`/`addComputed` keep row values (`fullTensors`). */
  get keepsValues(): boolean {
    return this.fullTensors;
  }

  /** Adds every row of one module call. */
  add(rec: CallRecord): void {
    const { batch, positions, width } = rowLayout(rec.shape, `${rec.module} output`);
    const rows = batch * positions;
    if (rec.output.length !== rows * width) throw new ShapeError(`${rec.module} output values`, [rows * width], [rec.output.length]);
    const inp = rec.input && sameShape(rec.input.shape, rec.shape) && rec.input.data.length === rec.output.length ? rec.input.data : null;
    this.addComputed(rec, this.kernel.rows(rec.output, rows, width, inp), rec.output);
  }

  /**
   * Adds one module call whose row statistics were computed elsewhere (by
   * `HeapRowStats` on the backend's memory, with this builder's
   * `statsOptions`); `output` (its values, row-major) is needed only when the
   * builder keeps values.
   */
  addComputed(rec: Pick<CallRecord, "module" | "call" | "phase" | "shape">, stats: StatsColumns, output?: Float32Array): void {
    const { batch, positions, width } = rowLayout(rec.shape, `${rec.module} output`);
    const rows = batch * positions;
    if (stats.length !== rows || stats.topK !== this.stats.topK) throw new ShapeError(`${rec.module} statistics rows`, [rows], [stats.length]);
    this.runs.push({ module: rec.module, call: rec.call, phase: rec.phase ?? "", batch, positions, width, stats });
    this.rows += rows;
    if (this.fullTensors) {
      if (!output) throw new ValueError(`${rec.module}: the builder keeps row values (fullTensors) but none were given`);
      for (let r = 0; r < rows; r++) this.values.push(this.keep(output, r * width, width));
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
    this.runs = [];
    this.rows = 0;
    this.values = [];
    this.dropped = 0;
  }

  /** The table so far (the builder can keep adding; later calls return longer tables). */
  finish(extra: Record<string, string> = {}): ActivationTable {
    const n = this.rows;
    const k = this.stats.topK;
    const t = {
      module: new Array<string>(n),
      call: new Int32Array(n),
      phase: new Array<string>(n),
      batch: new Int32Array(n),
      position: new Int32Array(n),
      width: new Int32Array(n),
      argMaxAbs: new Int32Array(n),
      topIndices: new Array<Int32Array>(n),
      topValues: new Array<Float32Array>(n),
      ...(Object.fromEntries(FLOAT_STATS.map((name) => [name, new Float64Array(n)])) as Record<FloatStat, Float64Array>),
    };
    let r = 0;
    for (const run of this.runs) {
      const s = run.stats;
      for (const name of FLOAT_STATS) t[name].set(s.f[name], r);
      t.argMaxAbs.set(s.argMaxAbs, r);
      for (let b = 0, i = 0; b < run.batch; b++) {
        for (let p = 0; p < run.positions; p++, i++, r++) {
          t.module[r] = run.module;
          t.call[r] = run.call;
          t.phase[r] = run.phase;
          t.batch[r] = b;
          t.position[r] = p;
          t.width[r] = run.width;
          // Views of the run's columns: each is written once, when its call is added.
          t.topIndices[r] = s.topIndices.subarray(i * k, i * k + s.topCount[i]!);
          t.topValues[r] = s.topValues.subarray(i * k, i * k + s.topCount[i]!);
        }
      }
    }
    return {
      ...t,
      values: this.fullTensors ? [...this.values] : new Array<null>(n).fill(null),
      meta: { topK: this.stats.topK, nearZeroEps: this.stats.nearZeroEps, median: this.stats.median, droppedValueRows: this.dropped, extra: { ...extra } },
    };
  }
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
    argMaxAbs: cat((t) => t.argMaxAbs, Int32Array),
    ...(Object.fromEntries(FLOAT_STATS.map((k) => [k, cat((t) => t[k], Float64Array)])) as Record<FloatStat, Float64Array>),
    topIndices: parts.flatMap((t) => t.topIndices),
    topValues: parts.flatMap((t) => t.topValues),
    values: parts.flatMap((t) => t.values),
    meta: { ...first.meta, droppedValueRows: parts.reduce((n, t) => n + t.meta.droppedValueRows, 0) },
  };
}
