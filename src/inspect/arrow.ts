import { Dictionary, Field, Float32, Int32, List, Table, Utf8, vectorFromArray, type Vector } from "apache-arrow";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { FormatError, ValueError } from "../errors.js";
import { buildTable, readArrow, writeArrow, type ColumnValues } from "../io/arrow.js";
import { VERSION } from "../version.js";
import { concatActivationTables, type ActivationTable } from "./records.js";
import { FLOAT_STATS } from "./stats.js";

/** Schema metadata key that marks an Arrow file as neurocode activation records. */
const KIND_KEY = "neurocode.kind";
const KIND = "activations";

const INT_COLUMNS = ["call", "batch", "position", "width", "argMaxAbs"] as const;

/**
 * The records as an Arrow table (readable by pyarrow, pandas, polars): columns
 * `module`, `phase` (dictionary strings), `call`, `batch`, `position`, `width`,
 * `argMaxAbs` (int32), the float64 statistics, `topIndices` (list<int32>),
 * `topValues` and `values` (list<float32>, `values` null where not kept).
 * Table-level facts go in the schema metadata (`neurocode.*` keys).
 */
export function activationsToArrow(t: ActivationTable): Table {
  const dict = () => new Dictionary(new Utf8(), new Int32());
  const cols: Record<string, Vector | ColumnValues> = {
    module: vectorFromArray(t.module, dict()),
    phase: vectorFromArray(t.phase, dict()),
  };
  for (const k of INT_COLUMNS) cols[k] = t[k];
  for (const k of FLOAT_STATS) cols[k] = t[k];
  cols.topIndices = vectorFromArray(t.topIndices, new List(new Field("item", new Int32(), false)));
  cols.topValues = vectorFromArray(t.topValues, new List(new Field("item", new Float32(), false)));
  cols.values = vectorFromArray(t.values, new List(new Field("item", new Float32(), false)));
  const meta: Record<string, string> = {
    [KIND_KEY]: KIND,
    "neurocode.version": VERSION,
    "neurocode.topK": String(t.meta.topK),
    "neurocode.nearZeroEps": String(t.meta.nearZeroEps),
    "neurocode.median": String(t.meta.median),
    "neurocode.droppedValueRows": String(t.meta.droppedValueRows),
  };
  for (const [k, v] of Object.entries(t.meta.extra)) meta[`neurocode.extra.${k}`] = v;
  return buildTable(cols, meta);
}

/** Reads records back from an Arrow table written by `activationsToArrow`; other tables are a `FormatError`. */
export function activationsFromArrow(table: Table, path = "<table>"): ActivationTable {
  const md = table.schema.metadata;
  if (md.get(KIND_KEY) !== KIND) throw new FormatError({ path, field: `schema.metadata.${KIND_KEY}` }, `not a neurocode activations table`);
  const col = (name: string): Vector => {
    const v = table.getChild(name);
    if (!v) throw new FormatError({ path, field: name }, "column missing");
    return v;
  };
  const n = table.numRows;
  const strings = (name: string) => Array.from(col(name).toArray() as ArrayLike<string>, String);
  const lists = <T extends Int32Array | Float32Array>(name: string, Ctor: new (a: ArrayLike<number>) => T): (T | null)[] => {
    const v = col(name);
    const out: (T | null)[] = new Array(n);
    for (let r = 0; r < n; r++) {
      const item = v.get(r) as Vector | null;
      out[r] = item === null ? null : new Ctor(item.toArray() as ArrayLike<number>);
    }
    return out;
  };
  const nonNull = <T>(xs: (T | null)[], name: string): T[] => {
    const i = xs.indexOf(null);
    if (i >= 0) throw new FormatError({ path, field: `${name}[${i}]` }, "null list where one is required");
    return xs as T[];
  };
  const extra: Record<string, string> = {};
  for (const [k, v] of md) if (k.startsWith("neurocode.extra.")) extra[k.slice("neurocode.extra.".length)] = v;
  const out = {
    module: strings("module"),
    phase: strings("phase"),
    topIndices: nonNull(lists("topIndices", Int32Array), "topIndices"),
    topValues: nonNull(lists("topValues", Float32Array), "topValues"),
    values: lists("values", Float32Array),
    meta: {
      topK: Number(md.get("neurocode.topK") ?? 0),
      nearZeroEps: Number(md.get("neurocode.nearZeroEps") ?? 0),
      median: md.get("neurocode.median") !== "false",
      droppedValueRows: Number(md.get("neurocode.droppedValueRows") ?? 0),
      extra,
    },
  } as Partial<ActivationTable> & Pick<ActivationTable, "meta">;
  for (const k of INT_COLUMNS) out[k] = Int32Array.from(col(k).toArray() as ArrayLike<number>);
  for (const k of FLOAT_STATS) out[k] = Float64Array.from(col(k).toArray() as ArrayLike<number>);
  return out as ActivationTable;
}

/** Writes records as an Arrow IPC file, atomically (temporary name, then rename). */
export function writeActivations(path: string, t: ActivationTable): void {
  writeArrow(path, activationsToArrow(t));
}

/**
 * Reads an Arrow IPC file written by `writeActivations`, or a directory of
 * `part-*.arrow` files streamed by an `ActivationRecorder` (as one table, parts
 * in name order). Unreadable files are a `FormatError`.
 */
export function readActivations(path: string): ActivationTable {
  if (!existsSync(path)) throw new ValueError(`no such file: ${path}`);
  if (!statSync(path).isDirectory()) return activationsFromArrow(readArrow(path), path);
  const parts = readdirSync(path).filter((f) => /^part-\d+\.arrow$/.test(f)).sort();
  if (parts.length === 0) throw new ValueError(`${path}: no part-*.arrow files`);
  return concatActivationTables(parts.map((f) => activationsFromArrow(readArrow(join(path, f)), join(path, f))));
}
