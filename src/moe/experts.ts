import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError } from "../errors.js";
import { activation, type ActivationName } from "../nn/functional.js";
import { uniform } from "../nn/init.js";
import { Module } from "../nn/module.js";
import { groupedMatMul } from "../engine/grouped.js";

/** Options of `ExpertFFN`. */
export interface ExpertFFNOptions {
  /** Number of experts E. */
  numExperts: number;
  /** Model width d. */
  dModel: number;
  /** Hidden width h of each expert. */
  hidden: number;
  /** Activation of the hidden layer. Default `gelu`. */
  activation?: ActivationName;
  /** Gated linear unit: `act(x·W_gate) ⊙ (x·W_up)` (SwiGLU with `silu`). Default false. */
  glu?: boolean;
  /** Learned biases `b_up` [E, h] and `b_down` [E, d]. Default true. */
  bias?: boolean;
}

/**
 * E feed-forward experts stored as stacked weights, evaluated together with
 * one batched matrix product per layer on expert-grouped slots:
 * `y = (act(x·W_up + b_up) | act(x·W_gate) ⊙ (x·W_up + b_up)) · W_down + b_down`.
 *
 * Parameters (input-major so the forward needs no transposes): `w_up` [E, d, h],
 * `w_gate` [E, d, h] (GLU only), `w_down` [E, h, d], `b_up` [E, h], `b_down` [E, d].
 * Init as `nn.Linear` per expert: U(±1/√fan_in).
 */
export class ExpertFFN extends Module<[tf.Tensor3D] | [tf.Tensor2D, readonly number[]], tf.Tensor> {
  readonly numExperts: number;
  readonly dModel: number;
  readonly hidden: number;
  readonly glu: boolean;
  readonly activationName: ActivationName;
  readonly wUp: tf.Variable;
  readonly wGate: tf.Variable | null;
  readonly wDown: tf.Variable;
  readonly bUp: tf.Variable | null;
  readonly bDown: tf.Variable | null;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: ExpertFFNOptions) {
    super();
    const { numExperts: e, dModel: d, hidden: h } = opts;
    for (const [key, v] of [["experts", e], ["dModel", d], ["hidden", h]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ConfigError(key, `must be a positive integer, got ${v}`);
    }
    this.numExperts = e;
    this.dModel = d;
    this.hidden = h;
    this.glu = opts.glu ?? false;
    this.activationName = opts.activation ?? "gelu";
    this.act = activation(this.activationName);
    const bias = opts.bias ?? true;
    this.wUp = this.registerParameter("w_up", uniform([e, d, h], 1 / Math.sqrt(d)))!;
    this.wGate = this.registerParameter("w_gate", this.glu ? uniform([e, d, h], 1 / Math.sqrt(d)) : null);
    this.wDown = this.registerParameter("w_down", uniform([e, h, d], 1 / Math.sqrt(h)))!;
    this.bUp = this.registerParameter("b_up", bias ? uniform([e, h], 1 / Math.sqrt(d)) : null);
    this.bDown = this.registerParameter("b_down", bias ? uniform([e, d], 1 / Math.sqrt(h)) : null);
  }

  /**
   * @param x [E, C, d] slots of each expert → [E, C, d] expert outputs; or
   * [N, d] rows grouped by expert with `counts` → [N, d] (see `forwardRows`).
   */
  forward(...[x, counts]: [tf.Tensor3D] | [tf.Tensor2D, readonly number[]]): tf.Tensor {
    if (counts) return this.forwardRows(x as tf.Tensor2D, counts);
    if (x.rank !== 3 || x.shape[0] !== this.numExperts || x.shape[2] !== this.dModel) {
      throw new ShapeError("ExpertFFN input", [this.numExperts, null, this.dModel], x.shape);
    }
    return tf.tidy(() => {
      let up: tf.Tensor = tf.matMul(x, this.wUp);
      if (this.bUp) up = tf.add(up, tf.expandDims(this.bUp, 1));
      const hid = this.wGate ? tf.mul(this.act(tf.matMul(x, this.wGate)), up) : this.act(up);
      let y: tf.Tensor = tf.matMul(hid as tf.Tensor3D, this.wDown);
      if (this.bDown) y = tf.add(y, tf.expandDims(this.bDown, 1));
      return y as tf.Tensor3D;
    });
  }

  /**
   * The experts on rows grouped by expert (`GroupedPlan`): rows `off[e] ..
   * off[e] + counts[e]` go through expert e. Same values and gradients as
   * `forward` on the same rows padded into [E, C, d], without the padding's work.
   * Called by `call(x, counts)`, which also runs the forward hooks.
   * @param x [N, d] @param counts [E] rows per expert, summing to N → [N, d]
   */
  private forwardRows(x: tf.Tensor2D, counts: readonly number[]): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.dModel) throw new ShapeError("ExpertFFN rows", [null, this.dModel], x.shape);
    if (counts.length !== this.numExperts) throw new ShapeError("ExpertFFN row counts", [this.numExperts], [counts.length]);
    return tf.tidy(() => {
      const up = groupedMatMul(x, this.wUp as tf.Tensor3D, counts, { bias: (this.bUp as tf.Tensor2D | null) ?? undefined });
      const hid = this.wGate ? tf.mul(this.act(groupedMatMul(x, this.wGate as tf.Tensor3D, counts)), up) : this.act(up);
      return groupedMatMul(hid as tf.Tensor2D, this.wDown as tf.Tensor3D, counts, { bias: (this.bDown as tf.Tensor2D | null) ?? undefined });
    });
  }
}
