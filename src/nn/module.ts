import * as tf from "@tensorflow/tfjs";
import { NeurocodeError } from "../errors.js";

/** A tensor held in host memory, as read from a checkpoint before it becomes a `tf.Tensor`. */
export interface HostTensor {
  /** Shape, outermost first (row-major). */
  shape: number[];
  /** Element type as tfjs names it. */
  dtype: "float32" | "int32" | "bool";
  /** Contiguous row-major values. */
  data: Float32Array | Int32Array | Uint8Array;
}

/** What a forward hook sees: the module, its dotted name from the root, its inputs and output. */
export interface ForwardHookContext {
  /** The module that just ran. */
  module: AnyModule;
  /** Dotted PyTorch-style name from the root module (`""` for the root itself). */
  name: string;
  /** The arguments `call()` received. */
  inputs: readonly unknown[];
  /** What `forward()` returned (after earlier hooks). */
  output: unknown;
}

/**
 * A function run after every `call()` of the module it is registered on.
 * Returning a value other than `undefined` replaces the output (as in PyTorch).
 * Hooks run inside the caller's `tf.tidy` scope: keep a tensor beyond it with
 * `tf.keep` or copy values out with `dataSync()`.
 */
export type ForwardHook = (ctx: ForwardHookContext) => unknown;

/** Returned by `registerForwardHook`; `remove()` detaches the hook. */
export interface HookHandle {
  remove(): void;
}

/** Names that a state dict did not match, reported by `loadStateDict`. */
export interface LoadReport {
  /** Names the module has but the state dict lacks. */
  missing: string[];
  /** Names in the state dict that the module does not have. */
  unexpected: string[];
  /** Names present in both with different shapes. */
  mismatched: { name: string; expected: number[]; actual: number[] }[];
}

/** A state dict does not fit a module; every offending name is listed. */
export class StateDictError extends NeurocodeError {
  override name = "StateDictError";
  readonly report: LoadReport;
  constructor(report: LoadReport) {
    const parts: string[] = [];
    if (report.missing.length) parts.push(`missing: ${report.missing.join(", ")}`);
    if (report.unexpected.length) parts.push(`unexpected: ${report.unexpected.join(", ")}`);
    if (report.mismatched.length) {
      parts.push(`mis-shaped: ${report.mismatched.map((m) => `${m.name} (expected [${m.expected}], got [${m.actual}])`).join(", ")}`);
    }
    super(`state dict does not match the module; ${parts.join("; ")}`);
    this.report = report;
  }
}

/** Any module, whatever its forward signature. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any[], any>;

/**
 * A PyTorch-like building block: owns parameters (`tf.Variable`, trainable),
 * buffers (non-trainable state such as BatchNorm running statistics) and child
 * modules, each under a name. Dotted names (`encoder.layers.0.norm.weight`)
 * are the same as the reference PyTorch state dict, so checkpoints load by name.
 *
 * Subclasses implement `forward()`; callers use `call()`, which runs the
 * forward hooks, so every module can be inspected.
 */
export abstract class Module<I extends unknown[] = [tf.Tensor], O = tf.Tensor> {
  /** True in training mode (dropout active, batch statistics in BatchNorm). */
  training = true;
  private readonly params = new Map<string, tf.Variable | null>();
  private readonly buffers = new Map<string, tf.Variable | null>();
  private readonly children = new Map<string, AnyModule>();
  private readonly hooks = new Map<number, ForwardHook>();
  private nextHookId = 0;
  private prefix = "";

  /** Computes the output; implemented by each layer. Call `call()` instead. */
  abstract forward(...inputs: I): O;

  /** Runs `forward()` then every forward hook in registration order. */
  call(...inputs: I): O {
    let output = this.forward(...inputs);
    for (const hook of this.hooks.values()) {
      const replaced = hook({ module: this, name: this.prefix, inputs, output });
      if (replaced !== undefined) output = replaced as O;
    }
    return output;
  }

  /** The module's dotted name from its root (`""` for a root). */
  get fullName(): string {
    return this.prefix;
  }

  /**
   * Registers `fn` to run after every forward of this module.
   * @returns a handle whose `remove()` unregisters it.
   */
  registerForwardHook(fn: ForwardHook): HookHandle {
    const id = this.nextHookId++;
    this.hooks.set(id, fn);
    return { remove: () => void this.hooks.delete(id) };
  }

  /** Adds a child module under `name` (a PyTorch attribute name or list index). Returns it. */
  registerModule<M extends AnyModule>(name: string, module: M): M {
    checkName(name);
    this.children.set(name, module);
    module.setPrefix(join(this.prefix, name));
    return module;
  }

  /**
   * Adds a trainable parameter initialised with `value` (the variable takes
   * ownership of a copy; `value` is disposed). `null` registers an absent
   * parameter (e.g. `bias=False`), which the state dict omits, like PyTorch.
   */
  registerParameter(name: string, value: tf.Tensor | null): tf.Variable | null {
    checkName(name);
    const v = value === null ? null : toVariable(value, true);
    this.params.set(name, v);
    return v;
  }

  /** Adds a non-trainable buffer saved in the state dict (e.g. `running_mean`). */
  registerBuffer(name: string, value: tf.Tensor): tf.Variable {
    checkName(name);
    const v = toVariable(value, false);
    this.buffers.set(name, v);
    return v;
  }

  /** Direct children with their names. */
  namedChildren(): [string, AnyModule][] {
    return [...this.children];
  }

  /** This module and all descendants, depth first, with dotted names (`""` for this module). */
  namedModules(prefix = ""): [string, AnyModule][] {
    const out: [string, AnyModule][] = [[prefix, this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(join(prefix, n)));
    return out;
  }

  /** Every parameter (trainable or frozen) with its dotted name, in registration order. */
  namedParameters(prefix = ""): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [n, p] of this.params) if (p) out.push([join(prefix, n), p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(join(prefix, n)));
    return out;
  }

  /** Every buffer with its dotted name. */
  namedBuffers(prefix = ""): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [n, b] of this.buffers) if (b) out.push([join(prefix, n), b]);
    for (const [n, c] of this.children) out.push(...c.namedBuffers(join(prefix, n)));
    return out;
  }

  /** All parameters (trainable and frozen). */
  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Parameters that receive gradients (not frozen). */
  trainableParameters(): tf.Variable[] {
    return this.parameters().filter((p) => p.trainable);
  }

  /** Number of scalar parameters (all, or only trainable ones). */
  numParameters(trainableOnly = false): number {
    return (trainableOnly ? this.trainableParameters() : this.parameters()).reduce((s, p) => s + p.size, 0);
  }

  /**
   * Sets whether this module's parameters (and all descendants') are trained,
   * as PyTorch's `requires_grad_()`; `requiresGrad(false)` freezes them.
   */
  requiresGrad(flag = true): this {
    for (const p of this.parameters()) p.trainable = flag;
    return this;
  }

  /** Switches this module and its descendants to training (or evaluation) mode. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (dropout off, BatchNorm running statistics). */
  eval(): this {
    return this.train(false);
  }

  /**
   * Parameters then buffers under their dotted names, PyTorch order per module.
   * The values are the live variables (no copies): do not dispose them.
   */
  stateDict(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    const visit = (m: AnyModule, prefix: string): void => {
      for (const [n, p] of m.params) if (p) out.set(join(prefix, n), p);
      for (const [n, b] of m.buffers) if (b) out.set(join(prefix, n), b);
      for (const [n, c] of m.children) visit(c, join(prefix, n));
    };
    visit(this, "");
    return out;
  }

  /**
   * Copies values from `sd` into this module's parameters and buffers by name.
   * Every missing, unexpected and mis-shaped name is collected first; with
   * `strict` (the default) any of them throws a `StateDictError` listing all
   * and nothing is changed. Non-strict loads what matches and returns the report.
   * Integer tensors (e.g. `num_batches_tracked`) are cast to the buffer's dtype.
   */
  loadStateDict(sd: Map<string, tf.Tensor | HostTensor> | Record<string, tf.Tensor | HostTensor>, opts: { strict?: boolean } = {}): LoadReport {
    const strict = opts.strict ?? true;
    const entries = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
    for (const name of own.keys()) if (!entries.has(name)) report.missing.push(name);
    for (const [name, t] of entries) {
      const target = own.get(name);
      if (!target) report.unexpected.push(name);
      else if (!sameShape(target.shape, t.shape)) report.mismatched.push({ name, expected: [...target.shape], actual: [...t.shape] });
    }
    const bad = report.missing.length + report.unexpected.length + report.mismatched.length > 0;
    if (strict && bad) throw new StateDictError(report);
    const mismatchedNames = new Set(report.mismatched.map((m) => m.name));
    for (const [name, t] of entries) {
      const target = own.get(name) as tf.Variable | undefined;
      if (!target || mismatchedNames.has(name)) continue;
      tf.tidy(() => {
        const value = t instanceof tf.Tensor ? t : tf.tensor(t.data, t.shape, t.dtype);
        target.assign(value.dtype === target.dtype ? value : tf.cast(value, target.dtype));
      });
    }
    return report;
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const p of m.params.values()) p?.dispose();
      for (const b of m.buffers.values()) b?.dispose();
      m.params.clear();
      m.buffers.clear();
    }
  }

  private setPrefix(prefix: string): void {
    this.prefix = prefix;
    for (const [n, c] of this.children) c.setPrefix(join(prefix, n));
  }
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

function checkName(name: string): void {
  if (!name || name.includes(".")) throw new NeurocodeError(`invalid module member name "${name}" (non-empty, no dots)`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function toVariable(value: tf.Tensor, trainable: boolean): tf.Variable {
  const v = tf.variable(value, trainable);
  value.dispose();
  return v;
}

/** Children in a list, named `0`, `1`, ... like `torch.nn.ModuleList`. */
export class ModuleList<M extends AnyModule = AnyModule> extends Module<[], never> {
  readonly items: M[] = [];
  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }
  /** Adds `m` under the next index. */
  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get length(): number {
    return this.items.length;
  }
  /** A ModuleList has no forward of its own; iterate `items`. */
  forward(): never {
    throw new NeurocodeError("ModuleList has no forward(); call its items");
  }
}

/** Modules applied in order, named `0`, `1`, ... like `torch.nn.Sequential`. */
export class Sequential extends Module<[tf.Tensor], tf.Tensor> {
  readonly items: Module<[tf.Tensor], tf.Tensor>[] = [];
  constructor(...modules: Module<[tf.Tensor], tf.Tensor>[]) {
    super();
    modules.forEach((m, i) => {
      this.registerModule(String(i), m);
      this.items.push(m);
    });
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.items.reduce((h, m) => m.call(h), x));
  }
}
