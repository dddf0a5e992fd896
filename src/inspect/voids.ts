import { ConfigError, ShapeError, ValueError } from "../errors.js";
import { nameMatcher, type NamePattern } from "./patterns.js";
import { groupRows, moduleOrder, type ActivationTable } from "./records.js";

/**
 * L2 Adaptive Computation (LAC, "Void in Language Models") on per-token norms.
 *
 * With n₋₁ = ‖input of layer 0‖₂ and n_l = ‖output of layer l‖₂ per token,
 * Δ_l = n_l − n_{l−1} (change of the norm, signed) and layer l is *activated*
 * for the token when Δ_l ≥ α·(max_{j<l} Δ_j − min_{j<l} Δ_j), a *void* otherwise.
 * Layer 0 has no earlier layers; as in the reference code its range is taken
 * over the batch items at the same position (so with one batch item layer 0 is
 * active iff its norm does not drop).
 *
 * @param inNorm n₋₁ per token, length batch·positions (batch-major).
 * @param outNorms n_l per layer, each of length batch·positions.
 * @param alpha threshold factor α ≥ 0 (paper default 0.8).
 * @returns activated[l][token] ∈ {0, 1}.
 */
export function lacActivated(
  inNorm: ArrayLike<number>,
  outNorms: readonly ArrayLike<number>[],
  batch: number,
  alpha = 0.8,
): Uint8Array[] {
  if (!(alpha >= 0)) throw new ConfigError("alpha", `must be ≥ 0, got ${alpha}`);
  const n = inNorm.length;
  if (batch < 1 || n % batch !== 0) throw new ShapeError("LAC norms", [batch, null], [n]);
  const positions = n / batch;
  for (const o of outNorms) if (o.length !== n) throw new ShapeError("LAC layer norms", [n], [o.length]);
  const maxD = new Float64Array(n).fill(-Infinity);
  const minD = new Float64Array(n).fill(Infinity);
  const prev = Float64Array.from(inNorm);
  const out: Uint8Array[] = [];
  outNorms.forEach((norms, l) => {
    const act = new Uint8Array(n);
    const delta = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = norms[i]!;
      if (Number.isNaN(v) || Number.isNaN(prev[i]!)) throw new ValueError(`LAC: NaN norm at layer ${l}, token ${i}`);
      delta[i] = v - prev[i]!;
    }
    for (let i = 0; i < n; i++) {
      let range: number;
      if (l === 0) {
        const p = i % positions;
        let hi = -Infinity;
        let lo = Infinity;
        for (let b = 0; b < batch; b++) {
          const d = delta[b * positions + p]!;
          if (d > hi) hi = d;
          if (d < lo) lo = d;
        }
        range = hi - lo;
      } else range = maxD[i]! - minD[i]!;
      act[i] = delta[i]! >= alpha * range ? 1 : 0;
    }
    for (let i = 0; i < n; i++) {
      if (delta[i]! > maxD[i]!) maxD[i] = delta[i]!;
      if (delta[i]! < minD[i]!) minD[i] = delta[i]!;
      prev[i] = norms[i]!;
    }
    out.push(act);
  });
  return out;
}

/** Voids of every recorded token: see `voidsFromTable`. */
export interface VoidMap {
  /** The layers in depth order. */
  layers: string[];
  alpha: number;
  /** One entry per token occurrence (forward pass × batch item × position). */
  call: Int32Array;
  phase: string[];
  batch: Int32Array;
  position: Int32Array;
  /** activated[token · L + l] ∈ {0, 1}. */
  activated: Uint8Array;
  /** Fraction of tokens for which each layer is a void. */
  voidFraction: Float64Array;
  /** The same per phase label (`prompt`, `generated`, or `""` when unset). */
  voidFractionByPhase: Record<string, Float64Array>;
}

/** Options of `voidsFromTable`. */
export interface VoidOptions {
  /** The residual blocks, in depth order or as a pattern (default: every module of the table, in call order). */
  layers?: string[] | NamePattern;
  /** LAC threshold factor (default 0.8). */
  alpha?: number;
}

/**
 * LAC voids per token and per phase from recorded activations.
 *
 * Needs each layer's output L2 norm per token and, for n₋₁, the first layer's
 * input norm (`inL2`, recorded when the layer's input has the output's shape,
 * as for residual blocks). The c-th call of every layer forms one forward pass.
 */
export function voidsFromTable(t: ActivationTable, opts: VoidOptions = {}): VoidMap {
  const alpha = opts.alpha ?? 0.8;
  const all = moduleOrder(t);
  let layers: string[];
  if (Array.isArray(opts.layers)) layers = opts.layers;
  else if (opts.layers !== undefined) {
    const m = nameMatcher(opts.layers as NamePattern);
    layers = all.filter(m);
  } else layers = all;
  if (layers.length === 0) throw new ConfigError("layers", "no recorded module matches");
  for (const l of layers) if (!all.includes(l)) throw new ValueError(`voids: layer "${l}" is not in the table`);
  const byLayerCall = groupRows(t.module.length, (r) => `${t.module[r]}\u0000${t.call[r]}`);
  const calls = [...new Set(Array.from(t.call.filter((_, r) => t.module[r] === layers[0])))];
  const L = layers.length;
  const tokCall: number[] = [];
  const tokPhase: string[] = [];
  const tokBatch: number[] = [];
  const tokPos: number[] = [];
  const act: number[] = [];
  for (const c of calls) {
    const rows = layers.map((l) => byLayerCall.get(`${l}\u0000${c}`));
    if (rows.some((r) => !r)) throw new ValueError(`voids: call ${c} was not recorded for every layer`);
    const r0 = rows[0]!;
    for (const rs of rows) if (rs!.length !== r0.length) throw new ShapeError(`voids: rows of call ${c}`, [r0.length], [rs!.length]);
    const inNorm = r0.map((r) => t.inL2[r]!);
    if (inNorm.some(Number.isNaN)) {
      throw new ValueError(`voids: ${layers[0]} has no input norm (its input and output shapes differ; record residual blocks)`);
    }
    const batch = Math.max(...r0.map((r) => t.batch[r]!)) + 1;
    const a = lacActivated(inNorm, rows.map((rs) => rs!.map((r) => t.l2[r]!)), batch, alpha);
    r0.forEach((r, i) => {
      tokCall.push(c);
      tokPhase.push(t.phase[r]!);
      tokBatch.push(t.batch[r]!);
      tokPos.push(t.position[r]!);
      for (let l = 0; l < L; l++) act.push(a[l]![i]!);
    });
  }
  const activated = Uint8Array.from(act);
  const frac = (keep: (tok: number) => boolean): Float64Array => {
    const f = new Float64Array(L);
    let n = 0;
    for (let k = 0; k < tokCall.length; k++) {
      if (!keep(k)) continue;
      n++;
      for (let l = 0; l < L; l++) f[l] += 1 - activated[k * L + l]!;
    }
    return f.map((v) => (n > 0 ? v / n : NaN));
  };
  const voidFractionByPhase: Record<string, Float64Array> = {};
  for (const p of new Set(tokPhase)) voidFractionByPhase[p] = frac((k) => tokPhase[k] === p);
  return {
    layers,
    alpha,
    call: Int32Array.from(tokCall),
    phase: tokPhase,
    batch: Int32Array.from(tokBatch),
    position: Int32Array.from(tokPos),
    activated,
    voidFraction: frac(() => true),
    voidFractionByPhase,
  };
}

/**
 * Layers to skip at inference from a void map: those void for at least
 * `minVoidFraction` of tokens (default 0.5), in depth order. Pass the result to
 * `skipLayers` (src/inspect/interventions.ts) to run the model without them.
 */
export function layersToSkip(v: VoidMap, minVoidFraction = 0.5): string[] {
  if (!(minVoidFraction >= 0 && minVoidFraction <= 1)) throw new ConfigError("minVoidFraction", `must be in [0, 1], got ${minVoidFraction}`);
  return v.layers.filter((_, l) => v.voidFraction[l]! >= minVoidFraction);
}
