import { readFileSync } from "node:fs";
import {
  Field,
  FixedSizeList,
  Float32,
  Int32,
  Schema,
  Table,
  Utf8,
  makeData,
  makeVector,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Vector,
} from "apache-arrow";
import { FormatError, ShapeError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";

/** A column of a table being built: typed arrays stay zero-copy, strings become Utf8. */
export type ColumnValues = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array | string[];

/**
 * Builds an Arrow table from named columns of equal length, with optional
 * schema metadata (string key/value pairs, e.g. `sfreq`, `neurocode.version`).
 * Arrow IPC files written from it are read by pyarrow, pandas and polars.
 */
export function buildTable(columns: Record<string, ColumnValues | Vector>, metadata: Record<string, string> = {}): Table {
  const vectors: Record<string, Vector> = {};
  let n: number | undefined;
  for (const [name, values] of Object.entries(columns)) {
    // Plain Utf8, not apache-arrow's default dictionary: dictionary ids come
    // from a process-wide counter, so the same table would serialise to
    // different bytes depending on what was built before it.
    const v = Array.isArray(values) ? vectorFromArray(values, new Utf8()) : ArrayBuffer.isView(values) ? makeVector(values) : values;
    if (n !== undefined && v.length !== n) throw new ShapeError(`column "${name}"`, [n], [v.length]);
    n = v.length;
    vectors[name] = v as Vector;
  }
  const table = new Table(vectors);
  const schema = new Schema(table.schema.fields, new Map(Object.entries(metadata)));
  return new Table(schema, table.batches);
}

/**
 * A fixed-size-list column (one list of `listSize` values per row): float32
 * (an embedding or window per row) or int32 (codes per row).
 * `values.length` must be `nRows * listSize`.
 */
export function fixedSizeListColumn(values: Float32Array | Int32Array, listSize: number): Vector {
  if (listSize <= 0 || values.length % listSize !== 0) throw new ShapeError("fixed-size list values", ["nRows * " + listSize], [values.length]);
  const child =
    values instanceof Int32Array
      ? makeData({ type: new Int32(), length: values.length, data: values })
      : makeData({ type: new Float32(), length: values.length, data: values });
  const type = new FixedSizeList(listSize, new Field("item", child.type, false));
  return makeVector(makeData({ type, length: values.length / listSize, nullCount: 0, child }));
}

/** Writes a table as an Arrow IPC file (`ARROW1` magic), atomically. */
export function writeArrow(path: string, table: Table): void {
  writeFileAtomic(path, tableToIPC(table, "file"));
}

/** Reads an Arrow IPC file or stream. */
export function readArrow(path: string): Table {
  const bytes = readFileSync(path);
  try {
    return tableFromIPC(bytes);
  } catch (e) {
    throw new FormatError({ path, field: "arrow ipc", offset: 0 }, e instanceof Error ? e.message : String(e));
  }
}
