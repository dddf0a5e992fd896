import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError, ValueError } from "../errors.js";
import type { AnyModule } from "../nn/module.js";
import { outputEffect, skipEffectMatrix } from "./contribution.js";
import { patchModules, skipModules, type PatchHandle } from "./interventions.js";
import { matchModules } from "./recorder.js";
import { rowLayout } from "./stats.js";
import { lacActivated } from "./voids.js";

/** Effects of skipping each layer: see `measureSkipEffects`. */
export interface SkipEffects {
  layers: string[];
  /** D[s][l] = max over tokens ‖Δ_l^{skip s} − Δ_l‖ / ‖Δ_l‖ (Δ_l = out_l − in_l). */
  futureEffect: Float64Array[];
  /** Per skipped layer: max over rows ‖softmax(out^{skip}) − softmax(out)‖₂ of the run's output. */
  outputEffect: Float64Array;
}

function tensorInput(name: string, inputs: readonly unknown[]): tf.Tensor {
  const x = inputs[0];
  if (!(x instanceof tf.Tensor)) throw new ValueError(`module "${name}" has no tensor input`);
  return x;
}

/** Runs `run` with hooks that copy every layer's update out − in to the host. */
function runCapturingUpdates(
  model: AnyModule,
  layers: string[],
  run: () => tf.Tensor,
): { updates: Float32Array[]; updateWidth: number; output: Float32Array; width: number } {
  const updates: (Float32Array | null)[] = layers.map(() => null);
  let updateWidth = 0;
  const handles = layers.map((name, l) =>
    patchModules(model, name, (out, ctx) => {
      const x = tensorInput(name, ctx.inputs);
      if (x.shape.join() !== out.shape.join()) throw new ShapeError(`update of ${name}`, out.shape, x.shape);
      const o = out.dataSync();
      const i = x.dataSync();
      if (updates[l] !== null) throw new ValueError(`layer "${name}" was called more than once in one run`);
      updates[l] = Float32Array.from(o, (v, k) => v - i[k]!);
      updateWidth = out.shape[out.rank - 1]!;
      return out;
    }),
  );
  let output: Float32Array;
  let width: number;
  try {
    const y = run();
    output = Float32Array.from(y.dataSync());
    width = y.shape[y.rank - 1]!;
    y.dispose();
  } finally {
    handles.forEach((h) => h.remove());
  }
  const missing = updates.findIndex((u) => u === null);
  if (missing >= 0) throw new ValueError(`layer "${layers[missing]}" was not called by the run`);
  return { updates: updates as Float32Array[], updateWidth, output, width };
}

/**
 * Skips each layer in turn (output := input) and measures the effect on every
 * layer's update and on the output (Csordás et al. 2025). `run` performs one
 * forward pass and returns its output (logits over the last axis); it is called
 * L + 1 times and its result disposed. Layers must be residual blocks of equal
 * width, each called once per run.
 */
export function measureSkipEffects(model: AnyModule, layers: readonly string[], run: () => tf.Tensor): SkipEffects {
  if (layers.length === 0) throw new ConfigError("layers", "no layers given");
  const names = [...layers];
  const base = runCapturingUpdates(model, names, run);
  const runs: Float32Array[][] = [];
  const outEff = new Float64Array(names.length);
  names.forEach((s, i) => {
    const skip = skipModules(model, s);
    try {
      const r = runCapturingUpdates(model, names, run);
      runs.push(r.updates);
      outEff[i] = outputEffect(r.output, base.output, base.width);
    } finally {
      skip.remove();
    }
  });
  return { layers: names, futureEffect: skipEffectMatrix(base.updates, runs, base.updateWidth), outputEffect: outEff };
}

/** A LAC skip chain attached to a model: see `lacSkipChain`. */
export interface LacSkipChain extends PatchHandle {
  /** activated[l][token] of the last forward pass (tokens batch-major). */
  readonly lastActivated: Uint8Array[];
}

/**
 * Layer skipping at inference as in the LAC reference ("skip_layers"): during
 * each forward pass the per-token LAC rule decides which of `layers` are
 * active, a skip state keeps, per token, the output of the last active layer
 * (starting from the first layer's input), and the last layer's output is
 * replaced by that state. The intermediate forward is unchanged, so where every
 * layer is active the output stays bitwise the same.
 *
 * @param layers residual blocks in depth order, each called once per pass.
 */
export function lacSkipChain(model: AnyModule, layers: readonly string[], alpha = 0.8): LacSkipChain {
  if (layers.length === 0) throw new ConfigError("layers", "no layers given");
  const names = [...layers];
  for (const n of names) matchModules(model, n);
  let inNorm: Float64Array = new Float64Array(0);
  let outNorms: Float64Array[] = [];
  let state: Float32Array = new Float32Array(0);
  let batch = 1;
  const chain: LacSkipChain = {
    modules: names,
    lastActivated: [],
    remove: () => handles.forEach((h) => h.remove()),
  };
  const handles = names.map((name, l) =>
    patchModules(model, name, (out, ctx) => {
      const { batch: b, positions, width } = rowLayout(out.shape, `${name} output`);
      const o = out.dataSync() as Float32Array;
      if (l === 0) {
        const x = tensorInput(name, ctx.inputs);
        if (x.shape.join() !== out.shape.join()) throw new ShapeError(`LAC skip chain: input of ${name}`, out.shape, x.shape);
        state = Float32Array.from(x.dataSync());
        inNorm = rowNorms(state, width);
        outNorms = [];
        batch = b;
      } else if (o.length !== state.length) throw new ShapeError(`LAC skip chain: output of ${name}`, [state.length], [o.length]);
      outNorms.push(rowNorms(o, width));
      if (outNorms.length !== l + 1) throw new ValueError(`LAC skip chain: "${name}" ran before the layers above it`);
      const act = lacActivated(inNorm, outNorms, batch, alpha);
      const mine = act[l]!;
      for (let t = 0; t < batch * positions; t++) if (mine[t]) state.set(o.subarray(t * width, (t + 1) * width), t * width);
      if (l < names.length - 1) return out;
      (chain as { lastActivated: Uint8Array[] }).lastActivated = act;
      return mine.every((v) => v === 1) ? out : tf.tensor(state, out.shape, "float32");
    }),
  );
  return chain;
}

function rowNorms(x: Float32Array, width: number): Float64Array {
  const n = new Float64Array(x.length / width);
  for (let r = 0; r < n.length; r++) {
    let s = 0;
    for (let i = r * width; i < (r + 1) * width; i++) s += x[i]! * x[i]!;
    n[r] = Math.sqrt(s);
  }
  return n;
}
