import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.js";
import { activation, silu, type ActivationName } from "../nn/functional.js";
import { FeedForward, SwiGLU } from "../nn/mlp.js";
import { MoEFeedForward, type MoEOptions } from "./layer.js";
import { writeExperts } from "./mcsmoe.js";
import { selectNeurons } from "./merge/align.js";
import type { ExpertWeights } from "./merge/expert-weights.js";
import type { Matrix } from "./merge/matrix.js";

/** The dense FFN as host expert weights (`FeedForward`: fc1 → up, fc2 → down; `SwiGLU`: w1 → gate, w3 → up, w2 → down). */
export function denseAsExpert(dense: FeedForward | SwiGLU): ExpertWeights {
  const host = (w: tf.Tensor): Matrix => {
    const t = tf.transpose(w);
    const out = { rows: t.shape[0]!, cols: t.shape[1]!, data: Float64Array.from(t.dataSync()) };
    t.dispose();
    return out;
  };
  const [up, gate, down] = dense instanceof SwiGLU ? [dense.w3, dense.w1, dense.w2] : [dense.fc1, null, dense.fc2];
  const e: ExpertWeights = { wUp: host(up.weight), wDown: host(down.weight) };
  if (gate) {
    if (gate.bias) throw new ConfigError("dense2moe", "SwiGLU with biases is not supported (gated experts have no gate bias)");
    e.wGate = host(gate.weight);
  }
  if (up.bias) e.bUp = Float64Array.from(up.bias.dataSync());
  if (down.bias) e.bDown = Float64Array.from(down.bias.dataSync());
  return e;
}

/**
 * First-order Taylor importance of each hidden neuron j of a dense FFN on
 * calibration tokens: `I_j = |Σ_t a_tj · ∂L/∂a_tj|`, the estimated change of
 * the loss if the neuron were removed. `a` is the hidden activation
 * (`act(fc1 x)`, or `silu(w1 x) ⊙ w3 x`). The loss defaults to
 * `½·mean‖FFN(x)‖²`, which needs no labels; pass the task loss when there is one.
 *
 * @param x [..., d] calibration tokens.
 * @param activationName the FeedForward's activation (ignored for SwiGLU).
 */
export function taylorImportance(
  dense: FeedForward | SwiGLU,
  x: tf.Tensor,
  activationName: ActivationName = "gelu",
  lossFn: (y: tf.Tensor) => tf.Scalar = (y) => tf.mul(tf.mean(tf.sum(tf.square(y), -1)), 0.5) as tf.Scalar,
): Float64Array {
  const imp = tf.tidy(() => {
    const xs = tf.reshape(x, [-1, dense.dim]);
    const a =
      dense instanceof SwiGLU ? tf.mul(silu(dense.w1.call(xs)), dense.w3.call(xs)) : activation(activationName)((dense as FeedForward).fc1.call(xs));
    const down = dense instanceof SwiGLU ? dense.w2 : (dense as FeedForward).fc2;
    const g = tf.grad((h: tf.Tensor) => lossFn(down.call(h)))(a);
    return tf.abs(tf.sum(tf.mul(a, g), 0));
  });
  const out = Float64Array.from(imp.dataSync());
  imp.dispose();
  return out;
}

/** Options of `dense2moe`. */
export interface Dense2MoEOptions extends Omit<MoEOptions, "hidden" | "glu" | "bias" | "sharedHidden" | "expertMap" | "activation"> {
  /** Neurons of the always-on shared expert (the most important ones); ≥ 1. */
  sharedHidden: number;
  /** The FeedForward's activation (default `gelu`; SwiGLU uses `silu`). */
  activation?: ActivationName;
}

/** What `dense2moe` returns. */
export interface Dense2MoEResult {
  layer: MoEFeedForward;
  /** Taylor importance of each dense neuron. */
  importance: Float64Array;
  /** Dense neuron indices of the shared expert, then of each routed expert. */
  shared: Int32Array;
  groups: Int32Array[];
}

/**
 * Dense2MoE-style conversion by neuron partition with Taylor-metric
 * initialisation: the `sharedHidden` most important neurons form the shared
 * expert; the others, by decreasing importance, are dealt round-robin into
 * `experts` routed experts of equal width (so each expert gets a similar
 * importance mix). Nothing is copied: with every expert active at gate 1 the
 * MoE equals the dense FFN. Each router row starts at the centroid of the
 * tokens that activate its neurons most (weighted by ‖a_group‖₁, centred);
 * distillation with the balancing losses then trains it.
 */
export function dense2moe(dense: FeedForward | SwiGLU, x: tf.Tensor, opts: Dense2MoEOptions): Dense2MoEResult {
  const h = dense.hidden;
  const { experts: e, sharedHidden: s, activation: actName, ...rest } = opts;
  if (!Number.isInteger(s) || s < 1 || s >= h) throw new ConfigError("dense2moe.sharedHidden", `must be an integer in [1, ${h - 1}], got ${s}`);
  if ((h - s) % e !== 0) throw new ConfigError("dense2moe.experts", `${h - s} routed neurons do not split into ${e} equal experts`);
  const glu = dense instanceof SwiGLU;
  const act: ActivationName = glu ? "silu" : (actName ?? "gelu");
  const importance = taylorImportance(dense, x, act);
  const order = Int32Array.from(Array.from({ length: h }, (_, j) => j).sort((a, b) => importance[b]! - importance[a]! || a - b));
  const shared = order.slice(0, s);
  const groups = Array.from({ length: e }, (_, g) => Int32Array.from(order.slice(s).filter((_, i) => i % e === g)));
  const whole = denseAsExpert(dense);
  const bias = whole.bUp !== undefined;
  const layer = new MoEFeedForward(dense.dim, { ...rest, experts: e, hidden: (h - s) / e, glu, bias, activation: act, sharedHidden: s });
  const routed = groups.map((idx) => {
    const part = selectNeurons(whole, idx);
    if (part.bDown) part.bDown = new Float64Array(part.bDown.length); // the output bias lives in the shared expert only
    return part;
  });
  writeExperts(layer.experts, routed);
  writeExperts(layer.shared!, [selectNeurons(whole, shared)]);
  tf.tidy(() => layer.router.layer.weight.assign(routerCentroids(dense, x, groups, act)));
  return { layer, importance, shared, groups };
}

/** [E, d]: per group, the activation-weighted mean token minus the plain mean token. */
function routerCentroids(dense: FeedForward | SwiGLU, x: tf.Tensor, groups: Int32Array[], act: ActivationName): tf.Tensor {
  const xs = tf.reshape(x, [-1, dense.dim]);
  const a = tf.abs(dense instanceof SwiGLU ? tf.mul(silu(dense.w1.call(xs)), dense.w3.call(xs)) : activation(act)((dense as FeedForward).fc1.call(xs)));
  const mean = tf.mean(xs, 0);
  const rows = groups.map((idx) => {
    const w = tf.sum(tf.gather(a, tf.tensor1d(idx, "int32"), 1), 1, true); // [T, 1]
    return tf.sub(tf.div(tf.sum(tf.mul(w, xs), 0), tf.add(tf.sum(w), 1e-12)), mean);
  });
  return tf.stack(rows);
}
