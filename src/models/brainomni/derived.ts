import * as tf from "@tensorflow/tfjs";
import { Linear } from "../../nn/linear.js";
import type { AnyModule } from "../../nn/module.js";

/**
 * Tensors computed from parameters alone (weight-norm weights g·v/‖v‖, filters
 * re-laid-out for the backend's convolution, transposed recurrent weights),
 * kept between inference calls instead of being rebuilt by every forward.
 *
 * Each entry remembers the data of the variables it was built from. Every way
 * a variable changes (`assign`: `loadStateDict`, an optimiser step, a manual
 * assignment) gives it new data, so a lookup notices a changed source and
 * rebuilds the entry: never stale, with no invalidation hooks to forget. A
 * kept tensor's identity is also what lets the wasm backend keep its packed
 * copy of a filter or right operand (XNNPACK caches them by tensor), so the
 * packing is paid once per weights version too.
 *
 * Entries are used in eval mode only; training computes the same tensors from
 * the variables on the gradient tape.
 */
export class DerivedWeights {
  private readonly entries = new Map<string, { sources: object[]; value: tf.Tensor }>();

  /**
   * The tensor `build()` makes from `sources`, built on first use and whenever
   * a source's data has changed since. The result belongs to this cache: do
   * not dispose it (an enclosing `tf.tidy` leaves it alone).
   */
  get(key: string, sources: readonly tf.Tensor[], build: () => tf.Tensor): tf.Tensor {
    const e = this.entries.get(key);
    if (e && e.sources.length === sources.length && e.sources.every((id, i) => id === sources[i]!.dataId)) return e.value;
    e?.value.dispose();
    const value = tf.keep(tf.tidy(build));
    this.entries.set(key, { sources: sources.map((s) => s.dataId), value });
    return value;
  }

  /** Frees every entry (they are rebuilt on next use). */
  release(): void {
    for (const e of this.entries.values()) e.value.dispose();
    this.entries.clear();
  }

  /** Number of tensors held. */
  get size(): number {
    return this.entries.size;
  }
}

/** A module that keeps derived weights: `prepare` builds them ahead of the first call, `derived` holds them. */
export interface DerivedHolder {
  readonly derived: DerivedWeights;
  /** Builds every derived tensor now (eval mode), so the first forward allocates nothing extra. */
  prepareDerived(): void;
}

function holders(root: AnyModule): DerivedHolder[] {
  return root.namedModules().map(([, m]) => m as unknown as Partial<DerivedHolder>).filter((m): m is DerivedHolder => m.derived instanceof DerivedWeights);
}

/** Builds the derived weights of every module under `root` (call after switching to eval mode). */
export function prepareDerived(root: AnyModule): void {
  for (const h of holders(root)) h.prepareDerived();
}

/** Frees the derived weights of every module under `root` (training mode, dispose). */
export function releaseDerived(root: AnyModule): void {
  for (const h of holders(root)) h.derived.release();
}

/**
 * `nn.Linear` (same parameters, names and training path) whose eval forward
 * multiplies by a kept Wᵀ [in, out]: the same product as `x·Wᵀ` without
 * transposing W on every call, and XNNPACK keeps its packed copy.
 */
export class InferenceLinear extends Linear implements DerivedHolder {
  readonly derived = new DerivedWeights();

  private weightT(): tf.Tensor {
    return this.derived.get("weightT", [this.weight], () => tf.transpose(this.weight));
  }

  prepareDerived(): void {
    this.weightT();
  }

  /** @param x [..., in] → [..., out] */
  override forward(x: tf.Tensor): tf.Tensor {
    if (this.training || x.shape[x.rank - 1] !== this.inFeatures) return super.forward(x);
    return tf.tidy(() => {
      const y = tf.matMul(x.reshape([-1, this.inFeatures]), this.weightT());
      return (this.bias ? tf.add(y, this.bias) : y).reshape([...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}
