import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.js";
import type { WasmHeapBackend } from "../engine/kernels.js";
import type { AnyModule, HookHandle } from "../nn/module.js";
import { writeActivations } from "./arrow.js";
import { nameMatcher, type NamePattern } from "./patterns.js";
import { ActivationTableBuilder, type ActivationTable, type TableBuilderOptions } from "./records.js";
import { channelsLast, rowLayout } from "./stats.js";
import { HeapRowStats } from "./stats-simd.js";

/**
 * The tensor a hook should look at in a module's output: the output itself, the
 * first tensor of an array output, or the `output` field of an object (e.g. an
 * MoE layer returning `{ output, stats }`). Null when there is none.
 */
export function primaryTensor(x: unknown): tf.Tensor | null {
  if (x instanceof tf.Tensor) return x;
  if (Array.isArray(x)) return x.find((v): v is tf.Tensor => v instanceof tf.Tensor) ?? null;
  if (x !== null && typeof x === "object" && (x as { output?: unknown }).output instanceof tf.Tensor) return (x as { output: tf.Tensor }).output;
  return null;
}

function asFloat32(x: ArrayLike<number>): Float32Array {
  return x instanceof Float32Array ? x : Float32Array.from(x);
}

/** Modules of `model` whose dotted names match `patterns` (the root, named `""`, never matches). */
export function matchModules(model: AnyModule, patterns: NamePattern | readonly NamePattern[]): [string, AnyModule][] {
  const match = nameMatcher(patterns);
  const found = model.namedModules().filter(([n]) => n !== "" && match(n));
  if (found.length === 0) {
    const names = model.namedModules().map(([n]) => n).filter((n) => n !== "");
    throw new ConfigError("record", `no module matches ${String(patterns)}; modules are: ${names.slice(0, 40).join(", ")}${names.length > 40 ? ", ..." : ""}`);
  }
  return found;
}

/** Options of `ActivationRecorder`. */
export interface RecorderOptions extends TableBuilderOptions {
  /** Module-name pattern(s): globs over dotted names, RegExps or `/regex/` strings. */
  record: NamePattern | readonly NamePattern[];
  /**
   * Stream to this directory: every `flushRows` rows are written as the next
   * `part-NNNNN.arrow` file and dropped from memory (`readActivations(dir)`
   * reads the parts back as one table; pyarrow.dataset and polars read the
   * folder too). Without it, rows stay in memory until `write`.
   */
  streamTo?: string;
  /** Rows per part file when streaming (default 65536). */
  flushRows?: number;
  /** Table metadata (model, checkpoint, inputs) stored with every table or streamed part. */
  meta?: Record<string, string>;
  /**
   * Outputs of rank ≥ 3 are channels-first (`[B, C, T]`, as Conv1d): rows are
   * then (batch item, time step) with the C channels as features (default false:
   * the last axis holds the features).
   */
  channelsFirst?: boolean;
}

/**
 * Records what chosen modules of a model compute, through their forward hooks.
 *
 * Each call of a matched module adds one row per (batch item, position) with
 * summary statistics of its output (and, for same-shaped input and output, the
 * residual-update statistics); with `fullTensors` the row values too, up to
 * `byteBudget` bytes. Recording only reads outputs, so outputs
 * stay bitwise the same and no tensor is created or kept.
 *
 * Hooks run in registration order: attach the recorder after any intervention
 * (`patchModules`) to record patched outputs, before to record the originals.
 *
 * @example
 * const rec = new ActivationRecorder(model, { record: "blocks.*" });
 * rec.phase = "prompt";
 * model.call(x).dispose();
 * rec.detach();
 * rec.write("acts.arrow"); // or analyse rec.table() directly
 */
export class ActivationRecorder {
  /** Dotted names of the recorded modules, in model order. */
  readonly modules: string[];
  /** Label stored with every row from now on (e.g. `prompt`, `generated`). */
  phase = "";
  /** Matched modules that returned no tensor (nothing recorded for them). */
  readonly unrecorded = new Set<string>();
  private readonly builder: ActivationTableBuilder;
  private readonly calls = new Map<string, number>();
  private handles: HookHandle[];

  private readonly streamTo: string | null;
  private readonly flushRows: number;
  private readonly meta: Record<string, string>;
  private parts = 0;
  private readonly channelsFirst: boolean;
  /** Statistics on the wasm heap (undefined: not tried yet; null: not available). */
  private heap: HeapRowStats | null | undefined;
  /** Host buffers the output (0) and input (1) of the current call are copied into. */
  private readonly scratch = [new Float32Array(0), new Float32Array(0)];

  constructor(model: AnyModule, opts: RecorderOptions) {
    const matched = matchModules(model, opts.record);
    this.builder = new ActivationTableBuilder(opts);
    this.streamTo = opts.streamTo ?? null;
    this.flushRows = opts.flushRows ?? 65536;
    this.meta = { ...opts.meta };
    this.channelsFirst = opts.channelsFirst ?? false;
    if (!Number.isInteger(this.flushRows) || this.flushRows < 1) throw new ConfigError("flushRows", `must be an integer ≥ 1, got ${this.flushRows}`);
    if (this.streamTo) mkdirSync(this.streamTo, { recursive: true });
    this.modules = matched.map(([n]) => n);
    this.handles = matched.map(([name, m]) =>
      m.registerForwardHook((ctx) => {
        this.record(name, ctx.output, ctx.inputs[0]);
        return undefined;
      }),
    );
  }

  private record(name: string, output: unknown, input: unknown): void {
    const out = primaryTensor(output);
    if (!out) {
      // Failing inside the model's forward would break the run being inspected; report it instead.
      this.unrecorded.add(name);
      return;
    }
    const call = this.calls.get(name) ?? 0;
    this.calls.set(name, call + 1);
    // Update statistics need the input only when it has the output's shape (residual blocks).
    const inp = input instanceof tf.Tensor && input.dtype === "float32" && input.shape.join() === out.shape.join() ? input : null;
    const heap = this.heapStats(out);
    if (heap) {
      const { batch, positions, width } = rowLayout(out.shape, `${name} output`);
      const stats = heap.rows(out, inp, batch * positions, width);
      this.builder.addComputed({ module: name, call, phase: this.phase, shape: out.shape }, stats, this.builder.keepsValues ? this.hostData(out, 0) : undefined);
    } else {
      const layout = (t: tf.Tensor, slot: 0 | 1) => {
        const data = this.hostData(t, slot);
        return this.channelsFirst ? channelsLast(data, t.shape) : { shape: t.shape, data };
      };
      const o = layout(out, 0);
      this.builder.add({ module: name, call, phase: this.phase, shape: o.shape, output: o.data, input: inp ? layout(inp, 1) : undefined });
    }
    if (this.streamTo && this.builder.numRows >= this.flushRows) this.flush();
  }

  /**
   * The heap kernel when it can take the statistics of `out` where the wasm
   * backend keeps it (float32, last axis the features, rows of a width it
   * handles); else null and the rows go through host copies.
   */
  private heapStats(out: tf.Tensor): HeapRowStats | null {
    if (this.channelsFirst || out.dtype !== "float32" || out.rank === 0 || tf.getBackend() !== "wasm") return null;
    if (this.heap === undefined) this.heap = HeapRowStats.create(tf.backend(), this.builder.statsOptions);
    return this.heap?.supports(out.shape[out.rank - 1]!) ? this.heap : null;
  }

  /**
   * The values of `t` as float32. On the wasm backend a float32 tensor is
   * copied from the heap into the recorder's reusable buffer `slot` (valid
   * until the next call: the builder keeps nothing of it but slices): a fresh
   * copy per tensor (`dataSync`) cost more in allocation, GC and evicted caches
   * than the copy itself, and handing the statistics the heap's own
   * SharedArrayBuffer-backed view would make V8 see two kinds of Float32Array
   * there (~50% slower once both occur in a process).
   */
  private hostData(t: tf.Tensor, slot: 0 | 1): Float32Array {
    if (t.dtype !== "float32" || tf.getBackend() !== "wasm") return asFloat32(t.dataSync());
    const heap = (tf.backend() as unknown as WasmHeapBackend).typedArrayFromHeap(t) as Float32Array;
    if (this.scratch[slot].length < heap.length) this.scratch[slot] = new Float32Array(heap.length);
    const out = this.scratch[slot].subarray(0, heap.length);
    out.set(heap);
    return out;
  }

  /**
   * Streaming: writes the rows held in memory as the next part file and drops
   * them. Called automatically every `flushRows` rows; call it (or `close`) at
   * the end. Returns the part's path, or null when there was nothing to write.
   */
  flush(): string | null {
    if (!this.streamTo) throw new ConfigError("streamTo", "flush() needs a recorder created with streamTo");
    if (this.builder.numRows === 0) return null;
    const path = join(this.streamTo, `part-${String(this.parts).padStart(5, "0")}.arrow`);
    writeActivations(path, this.builder.finish(this.meta));
    this.builder.clear();
    this.parts++;
    return path;
  }

  /** Detaches the hooks and, when streaming, writes the last part. */
  close(): void {
    this.detach();
    if (this.streamTo) this.flush();
  }

  /** Rows recorded so far. */
  get numRows(): number {
    return this.builder.numRows;
  }

  /** True while the hooks are attached. */
  get attached(): boolean {
    return this.handles.length > 0;
  }

  /** Removes the hooks (the rows recorded so far stay). */
  detach(): void {
    for (const h of this.handles) h.remove();
    this.handles = [];
  }

  /** The rows recorded so far (when streaming: those not yet flushed); `extra` goes into the table metadata. */
  table(extra: Record<string, string> = {}): ActivationTable {
    return this.builder.finish({ ...this.meta, ...extra });
  }

  /** Writes the rows recorded so far as an Arrow IPC file (atomically). */
  write(path: string, extra: Record<string, string> = {}): void {
    writeActivations(path, this.table({ ...this.meta, ...extra }));
  }
}
