import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError, ValueError } from "../errors.js";
import type { AnyModule, HookHandle } from "../nn/module.js";
import type { NamePattern } from "./patterns.js";
import { matchModules, primaryTensor } from "./recorder.js";

/** What a patch sees besides the output: the module's name, its inputs and its call count. */
export interface PatchContext {
  name: string;
  inputs: readonly unknown[];
  /** 0-based index of this call of the module since the patch was applied. */
  call: number;
}

/**
 * Maps a module's output to its replacement. Return the output itself to leave
 * it unchanged. A new tensor must be new (not an input or a tensor the caller
 * keeps), since the caller may dispose it.
 */
export type OutputPatch = (output: tf.Tensor, ctx: PatchContext) => tf.Tensor;

/** A set of applied patches; `remove()` restores the model. */
export interface PatchHandle {
  /** The patched modules' dotted names. */
  readonly modules: string[];
  remove(): void;
}

/**
 * The one intervention mechanism of the inspection core: replaces the output
 * of every module matching `target` with `fn(output)` through the module's
 * forward hook (a hook that returns a value replaces the output, as in
 * PyTorch). Skipping, overwriting, scaling and top-k masking are all patches.
 * For outputs that are arrays or `{ output, ... }` objects the primary tensor
 * is replaced and the rest kept. The replaced tensor is disposed unless
 * `disposeReplaced` is false (needed under a gradient tape, where a later
 * backward pass may still read it; the enclosing `tf.tidy` frees it then).
 */
export function patchModules(
  model: AnyModule,
  target: NamePattern | readonly NamePattern[],
  fn: OutputPatch,
  opts: { disposeReplaced?: boolean } = {},
): PatchHandle {
  const disposeReplaced = opts.disposeReplaced ?? true;
  const matched = matchModules(model, target);
  const handles: HookHandle[] = matched.map(([name, m]) => {
    let call = 0;
    return m.registerForwardHook((ctx) => {
      const out = primaryTensor(ctx.output);
      if (!out) throw new ValueError(`patch: module "${name}" returned no tensor`);
      const next = fn(out, { name, inputs: ctx.inputs, call: call++ });
      if (next === out) return undefined;
      if (disposeReplaced && !ctx.inputs.includes(out)) out.dispose();
      return replacePrimary(ctx.output, out, next);
    });
  });
  return {
    modules: matched.map(([n]) => n),
    remove: () => handles.forEach((h) => h.remove()),
  };
}

function replacePrimary(container: unknown, old: tf.Tensor, next: tf.Tensor): unknown {
  if (container === old) return next;
  if (Array.isArray(container)) return container.map((v) => (v === old ? next : v));
  return { ...(container as object), output: next };
}

function sameShapeOrThrow(what: string, expected: readonly number[], actual: readonly number[]): void {
  if (expected.length !== actual.length || expected.some((d, i) => d !== actual[i])) throw new ShapeError(what, expected, actual);
}

/**
 * Skips modules: output := first input (a copy), as in Csordás et al.'s
 * layer-skip experiments. Only for modules whose input and output shapes agree
 * (residual blocks); others throw a `ShapeError` when called.
 */
export function skipModules(model: AnyModule, target: NamePattern | readonly NamePattern[]): PatchHandle {
  return patchModules(model, target, (out, ctx) => {
    const x = ctx.inputs[0];
    if (!(x instanceof tf.Tensor)) throw new ValueError(`skip: module "${ctx.name}" has no tensor input`);
    sameShapeOrThrow(`skip ${ctx.name}: input`, out.shape, x.shape);
    return x.clone();
  });
}

/** Multiplies the outputs of matching modules by `factor` (a number or a tensor broadcast against the output). */
export function scaleModules(model: AnyModule, target: NamePattern | readonly NamePattern[], factor: number | tf.Tensor): PatchHandle {
  if (typeof factor === "number" && !Number.isFinite(factor)) throw new ConfigError("factor", `must be finite, got ${factor}`);
  return patchModules(model, target, (out) => tf.mul(out, factor));
}

/**
 * Overwrites the outputs of matching modules with `value` (same shape; the
 * caller keeps ownership of `value`) or with `value(output)`.
 */
export function overwriteModules(
  model: AnyModule,
  target: NamePattern | readonly NamePattern[],
  value: tf.Tensor | ((output: tf.Tensor, ctx: PatchContext) => tf.Tensor),
): PatchHandle {
  return patchModules(model, target, (out, ctx) => {
    const v = value instanceof tf.Tensor ? value.clone() : value(out, ctx);
    if (v.shape.length !== out.shape.length || v.shape.some((d, i) => d !== out.shape[i])) {
      v.dispose();
      throw new ShapeError(`overwrite ${ctx.name}`, out.shape, v.shape);
    }
    return v;
  });
}

/**
 * Keeps only the k largest entries of every row (last axis) of matching
 * modules' outputs and zeroes the rest: the Top-k Transformer of the lazy-neuron
 * paper when applied to the MLP activation.
 */
export function topkModules(model: AnyModule, target: NamePattern | readonly NamePattern[], k: number): PatchHandle {
  if (!Number.isInteger(k) || k < 1) throw new ConfigError("k", `must be an integer ≥ 1, got ${k}`);
  return patchModules(model, target, (out, ctx) => {
    const d = out.shape[out.rank - 1]!;
    if (k > d) throw new ConfigError("k", `${k} exceeds the ${d} features of ${ctx.name}`);
    return tf.tidy(() => {
      const { indices } = tf.topk(out, k);
      const mask = tf.oneHot(indices, d, 1, 0, "float32").sum(-2);
      return tf.mul(out, mask);
    });
  });
}
