import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError, ValueError } from "../errors.js";
import type { AnyModule } from "../nn/module.js";
import { patchModules, type PatchHandle } from "./interventions.js";
import { rowLayout } from "./stats.js";

/** A path of one neuron per layer and its joint attribution score. */
export interface NeuronPath {
  /** Neuron index per layer, first layer first. */
  path: number[];
  /** JAS of the path prefix ending at each layer (the last one scores the whole path). */
  scores: number[];
}

/**
 * Layer-progressive greedy path (Influential Neuron Path, ICLR 2025): for each
 * layer in turn, with the path so far fixed, `jas(path, layer)` scores every
 * candidate neuron of that layer and the best one (lowest index on ties) joins
 * the path.
 */
export function selectNeuronPath(numLayers: number, jas: (path: readonly number[], layer: number) => ArrayLike<number>): NeuronPath {
  const path: number[] = [];
  const scores: number[] = [];
  for (let l = 0; l < numLayers; l++) {
    const s = jas(path, l);
    if (s.length === 0) throw new ValueError(`neuron path: layer ${l} has no candidates`);
    let best = 0;
    for (let j = 1; j < s.length; j++) if (s[j]! > s[best]!) best = j;
    path.push(best);
    scores.push(s[best]!);
  }
  return { path, scores };
}

/** Options of `influentialNeuronPath`. */
export interface NeuronPathOptions {
  /** Modules whose outputs are the neurons (e.g. each block's MLP activation), in depth order. */
  layers: readonly string[];
  /** One forward pass returning the scalar target F (e.g. the target class probability). */
  target: () => tf.Scalar;
  /** Row (batch item 0, this position) whose neurons are attributed (default 0, the CLS token). */
  position?: number;
  /** Riemann steps m of the integrated gradients (default 20, left points k/m). */
  steps?: number;
  /**
   * `"reference"` (default) scores a set N as (Σ_{n∈N} x_n / m)·Σ_k Σ_{n∈N} ∂F/∂x_n(α_k),
   * as the authors' code does; `"exact"` as Σ_{n∈N} (x_n / m)·Σ_k ∂F/∂x_n(α_k)
   * (the two agree for a single neuron).
   */
  score?: "reference" | "exact";
}

/**
 * Influential neuron path through `layers` of `model` by joint attribution
 * scores (JAS): integrated gradients in which the path's neurons so far and
 * the whole candidate layer are scaled together from 0 to their actual values
 * (α = k/m, k = 0..m−1) while every other neuron keeps its value. Gradients are
 * taken through additive zero offsets patched onto the layers' outputs, so the
 * model itself is untouched. Costs m forward+backward passes per layer.
 */
export function influentialNeuronPath(model: AnyModule, opts: NeuronPathOptions): NeuronPath {
  const layers = [...opts.layers];
  const steps = opts.steps ?? 20;
  const position = opts.position ?? 0;
  const mode = opts.score ?? "reference";
  if (layers.length === 0) throw new ConfigError("layers", "no layers given");
  if (!Number.isInteger(steps) || steps < 1) throw new ConfigError("steps", `must be an integer ≥ 1, got ${steps}`);

  // Actual activations of the attributed row, per layer.
  const acts = layers.map(() => null as Float32Array | null);
  const capture = layers.map((name, l) =>
    patchModules(model, name, (out) => {
      acts[l] = Float32Array.from(out.dataSync()).slice(...rowSpan(out.shape, position, name));
      return out;
    }),
  );
  try {
    tf.tidy(() => opts.target()).dispose();
  } finally {
    capture.forEach((h) => h.remove());
  }
  const x = acts.map((a, l) => {
    if (!a) throw new ValueError(`neuron path: layer "${layers[l]}" was not called by the target`);
    return a;
  });

  return selectNeuronPath(layers.length, (path, l) => {
    // Per layer ≤ l: which neurons are scaled (the path neuron, or the whole candidate layer).
    const scaled = (i: number, j: number): boolean => (i < l ? j === path[i] : true);
    const gradSum = x.slice(0, l + 1).map((xi) => new Float64Array(xi.length));
    for (let k = 0; k < steps; k++) {
      const alpha = k / steps;
      const g = gradsAt(model, layers.slice(0, l + 1), x, scaled, alpha, position, opts.target);
      g.forEach((gi, i) => gi.forEach((v, j) => (gradSum[i]![j] += v)));
    }
    let pathX = 0;
    let pathG = 0;
    let pathExact = 0;
    for (let i = 0; i < l; i++) {
      const n = path[i]!;
      pathX += x[i]![n]!;
      pathG += gradSum[i]![n]!;
      pathExact += (x[i]![n]! / steps) * gradSum[i]![n]!;
    }
    const xl = x[l]!;
    const gl = gradSum[l]!;
    return Float64Array.from(xl, (xj, j) =>
      mode === "reference" ? ((pathX + xj) / steps) * (pathG + gl[j]!) : pathExact + (xj / steps) * gl[j]!,
    );
  });
}

/** [start, end) of the row (batch item 0, `position`) in a flattened output of `shape`. */
function rowSpan(shape: readonly number[], position: number, name: string): [number, number] {
  const { positions, width } = rowLayout(shape, `${name} output`);
  if (!Number.isInteger(position) || position < 0 || position >= positions) throw new ShapeError(`${name}: position ${position}`, [positions], [...shape]);
  return [position * width, (position + 1) * width];
}

/**
 * ∂F/∂x of the attributed row of each layer at the point where the `scaled`
 * neurons are multiplied by α: out' = out + R ⊙ (out ⊙ (s − 1) + δ) with R the
 * row selector, s the scale vector and δ = 0 the offset we differentiate by.
 */
function gradsAt(
  model: AnyModule,
  layers: string[],
  x: Float32Array[],
  scaled: (layer: number, neuron: number) => boolean,
  alpha: number,
  position: number,
  target: () => tf.Scalar,
): Float32Array[] {
  return tf.tidy(() => {
    const deltas = x.slice(0, layers.length).map((xi) => tf.zeros([xi.length]));
    let current: tf.Tensor[] = deltas;
    const handles: PatchHandle[] = layers.map((name, i) =>
      patchModules(model, name, (out) => {
        const [a, b] = rowSpan(out.shape, position, name);
        const width = b - a;
        const rows = out.size / width;
        const sel = new Float32Array(rows);
        sel[a / width] = 1; // batch item 0 holds rows 0..positions-1
        const s = Float32Array.from({ length: width }, (_, j) => (scaled(i, j) ? alpha - 1 : 0));
        const flat = out.reshape([rows, width]);
        const change = tf.add(tf.mul(flat, tf.tensor1d(s)), current[i]!);
        return tf.add(flat, tf.mul(tf.tensor2d(sel, [rows, 1]), change)).reshape(out.shape);
      }, { disposeReplaced: false }),
    );
    try {
      const f = (...ds: tf.Tensor[]): tf.Scalar => {
        current = ds;
        return target();
      };
      return tf.grads(f)(deltas).map((g) => Float32Array.from(g.dataSync()));
    } finally {
      handles.forEach((h) => h.remove());
    }
  });
}
