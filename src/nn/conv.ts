import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError } from "../errors.js";
import { kaimingUniformA5, uniform, fanIn } from "./init.js";
import { Module } from "./module.js";

/** How the signal is extended beyond its ends before a convolution. */
export type PaddingMode = "zeros" | "reflect" | "replicate" | "circular";

/** Options of `Conv1d` and `ConvTranspose1d`. */
export interface Conv1dOptions {
  /** Step between output samples (default 1). */
  stride?: number;
  /** Samples added at each end (default 0). Conv1d also accepts `"same"` (stride 1 only). */
  padding?: number | "same";
  /** Spacing between kernel taps (default 1). */
  dilation?: number;
  /** Channel groups; in and out channels must be divisible by it (default 1). */
  groups?: number;
  /** Learned bias (default true). */
  bias?: boolean;
  /** Conv1d only: how padding is filled (default `"zeros"`). */
  paddingMode?: PaddingMode;
  /** ConvTranspose1d only: extra samples added to one side of the output (default 0). */
  outputPadding?: number;
  /**
   * Weight normalisation (`torch.nn.utils.weight_norm`): parameters `weight_g`
   * and `weight_v` replace `weight`, and the effective weight is g·v/‖v‖ with
   * the norm over every axis but 0 (default false).
   */
  weightNorm?: boolean;
}

/** Pads the last axis of `x` [N, C, L] by `left`/`right` samples with `mode`. */
export function pad1d(x: tf.Tensor, left: number, right: number, mode: PaddingMode): tf.Tensor {
  if (left === 0 && right === 0) return x.clone();
  const L = x.shape[2]!;
  return tf.tidy(() => {
    switch (mode) {
      case "zeros":
        return tf.pad(x, [[0, 0], [0, 0], [left, right]]);
      case "reflect":
        if (left >= L || right >= L) throw new ShapeError(`reflect padding ${left},${right} needs a longer input`, ["N", "C", `>${Math.max(left, right)}`], x.shape);
        // Built from slices: tfjs's MirrorPad gradient drops the reflected part.
        return tf.concat(
          [
            ...(left ? [tf.reverse(tf.slice(x, [0, 0, 1], [-1, -1, left]), 2)] : []),
            x,
            ...(right ? [tf.reverse(tf.slice(x, [0, 0, L - 1 - right], [-1, -1, right]), 2)] : []),
          ],
          2,
        );
      case "replicate": {
        const parts: tf.Tensor[] = [];
        if (left) parts.push(tf.tile(tf.slice(x, [0, 0, 0], [-1, -1, 1]), [1, 1, left]));
        parts.push(x);
        if (right) parts.push(tf.tile(tf.slice(x, [0, 0, L - 1], [-1, -1, 1]), [1, 1, right]));
        return tf.concat(parts, 2);
      }
      case "circular":
        if (left > L || right > L) throw new ShapeError(`circular padding ${left},${right} needs a longer input`, ["N", "C", `>=${Math.max(left, right)}`], x.shape);
        return tf.concat([tf.slice(x, [0, 0, L - left], [-1, -1, left]), x, tf.slice(x, [0, 0, 0], [-1, -1, right])], 2);
    }
  });
}

/**
 * Valid (unpadded) 1-D cross-correlation as PyTorch computes it, by im2col and
 * one matrix product per group. im2col keeps the backward pass on kernels
 * every backend has (the wasm backend has no `Conv2DBackpropFilter`), and the
 * products run on the fast matMul path.
 *
 * @param x [N, Cin, L]
 * @param w [Cout, Cin/groups, K]
 * @returns [N, Cout, Lout] with Lout = ⌊(L − d(K−1) − 1)/stride⌋ + 1
 */
export function conv1dValid(x: tf.Tensor, w: tf.Tensor, stride: number, dilation: number, groups: number): tf.Tensor {
  const [N, C, L] = x.shape as [number, number, number];
  const [Cout, Cg, K] = w.shape as [number, number, number];
  const Lout = Math.floor((L - dilation * (K - 1) - 1) / stride) + 1;
  if (Lout < 1) throw new ShapeError("conv1d input too short for the kernel", ["N", C, `>=${dilation * (K - 1) + 1}`], x.shape);
  return tf.tidy(() => {
    // taps[k]: x[:, :, k·d + stride·t] for t < Lout, via contiguous slice + reshape (no strided slice).
    const taps: tf.Tensor[] = [];
    for (let k = 0; k < K; k++) {
      const start = k * dilation;
      const span = stride * Lout;
      let s: tf.Tensor;
      if (stride === 1) s = tf.slice(x, [0, 0, start], [-1, -1, Lout]);
      else {
        const avail = Math.min(span, L - start);
        s = tf.slice(x, [0, 0, start], [-1, -1, avail]);
        if (avail < span) s = tf.pad(s, [[0, 0], [0, 0], [0, span - avail]]);
        s = tf.slice(s.reshape([N, C, Lout, stride]), [0, 0, 0, 0], [-1, -1, -1, 1]).reshape([N, C, Lout]);
      }
      taps.push(s);
    }
    // cols: [N, Lout, C, K] → per group [N·Lout, Cg·K]
    const cols = tf.stack(taps, 3).transpose([0, 2, 1, 3]);
    const outs: tf.Tensor[] = [];
    const og = Cout / groups;
    for (let g = 0; g < groups; g++) {
      const cg = groups === 1 ? cols : tf.slice(cols, [0, 0, g * Cg, 0], [-1, -1, Cg, -1]);
      const wg = groups === 1 ? w : tf.slice(w, [g * og, 0, 0], [og, -1, -1]);
      outs.push(tf.matMul(cg.reshape([N * Lout, Cg * K]), wg.reshape([og, Cg * K]), false, true));
    }
    const y = groups === 1 ? outs[0]! : tf.concat(outs, 1);
    return y.reshape([N, Lout, Cout]).transpose([0, 2, 1]);
  });
}

/** g·v/‖v‖ with the norm over every axis but 0 (PyTorch `weight_norm(dim=0)`). */
export function weightNormWeight(g: tf.Tensor, v: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const axes = [...Array(v.rank).keys()].slice(1);
    return tf.mul(v, tf.div(g, tf.sqrt(tf.sum(tf.square(v), axes, true))));
  });
}

/**
 * Registers a convolution's parameters on `m` with PyTorch's init: `weight`
 * (or `weight_g`/`weight_v` under weight norm, g starting at ‖v‖ so the
 * effective weight equals v) of `shape`, and `bias` [outChannels].
 * @returns a function giving the effective weight, and the bias.
 */
function registerConvParams(m: Module, shape: number[], inChannels: number, outChannels: number, opts: Conv1dOptions): { weightFn: () => tf.Tensor; bias: tf.Variable | null } {
  const groups = opts.groups ?? 1;
  if (inChannels % groups || outChannels % groups) throw new ConfigError("groups", `channels ${inChannels}→${outChannels} not divisible by groups ${groups}`);
  const init = kaimingUniformA5(shape);
  let weightFn: () => tf.Tensor;
  if (opts.weightNorm) {
    const g0 = tf.tidy(() => tf.sqrt(tf.sum(tf.square(init), [...Array(shape.length).keys()].slice(1), true)));
    const g = m.registerParameter("weight_g", g0)!;
    const v = m.registerParameter("weight_v", init)!;
    weightFn = () => weightNormWeight(g, v);
  } else {
    const w = m.registerParameter("weight", init)!;
    weightFn = () => w;
  }
  const bias = m.registerParameter("bias", opts.bias ?? true ? uniform([outChannels], 1 / Math.sqrt(fanIn(shape))) : null);
  return { weightFn, bias };
}

function checkInput(what: string, x: tf.Tensor, channels: number): void {
  if (x.rank !== 3 || x.shape[1] !== channels) throw new ShapeError(what, ["N", channels, "L"], x.shape);
}

/** What Conv1d and ConvTranspose1d share: stride, dilation, groups, weight (or weight norm) and bias. */
abstract class Conv1dBase extends Module {
  readonly stride: number;
  readonly dilation: number;
  readonly groups: number;
  readonly bias: tf.Variable | null;
  private readonly weightFn: () => tf.Tensor;

  /** @param weightShape [out, in/groups, K] for Conv1d, [in, out/groups, K] for ConvTranspose1d */
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, opts: Conv1dOptions, weightShape: (groups: number) => number[]) {
    super();
    this.stride = opts.stride ?? 1;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    ({ weightFn: this.weightFn, bias: this.bias } = registerConvParams(this, weightShape(this.groups), inChannels, outChannels, opts));
  }

  /** The effective weight (g·v/‖v‖ under weight norm; then a new tensor the caller disposes). */
  weight(): tf.Tensor {
    return this.weightFn();
  }
}

/**
 * 1-D convolution over [N, C, L], as `torch.nn.Conv1d` (weight [out, in/groups, K],
 * bias [out]; kaiming_uniform(a=√5) init) with padding modes, dilation, groups
 * and optional weight norm.
 */
export class Conv1d extends Conv1dBase {
  readonly padding: number | "same";
  readonly paddingMode: PaddingMode;

  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: Conv1dOptions = {}) {
    super(inChannels, outChannels, kernelSize, opts, (g) => [outChannels, inChannels / g, kernelSize]);
    this.padding = opts.padding ?? 0;
    this.paddingMode = opts.paddingMode ?? "zeros";
    if (this.padding === "same" && this.stride !== 1) throw new ConfigError("padding", `"same" padding needs stride 1`);
  }

  /** @param x [N, inChannels, L] → [N, outChannels, Lout] */
  forward(x: tf.Tensor): tf.Tensor {
    checkInput("Conv1d input", x, this.inChannels);
    return tf.tidy(() => {
      let left: number;
      let right: number;
      if (this.padding === "same") {
        const total = this.dilation * (this.kernelSize - 1);
        left = Math.floor(total / 2);
        right = total - left;
      } else left = right = this.padding;
      const xp = pad1d(x, left, right, this.paddingMode);
      const y = conv1dValid(xp, this.weight(), this.stride, this.dilation, this.groups);
      return this.bias ? tf.add(y, this.bias.reshape([1, -1, 1])) : y;
    });
  }
}

/**
 * Transposed 1-D convolution over [N, C, L], as `torch.nn.ConvTranspose1d`
 * (weight [in, out/groups, K], bias [out]). Output length
 * (L − 1)·stride − 2·padding + dilation·(K − 1) + outputPadding + 1.
 * Under weight norm, g has shape [in, 1, 1] (PyTorch's dim 0 is in_channels here).
 */
export class ConvTranspose1d extends Conv1dBase {
  readonly padding: number;
  readonly outputPadding: number;

  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: Conv1dOptions = {}) {
    super(inChannels, outChannels, kernelSize, opts, (g) => [inChannels, outChannels / g, kernelSize]);
    if (opts.padding === "same") throw new ConfigError("padding", `ConvTranspose1d does not support "same"`);
    if ((opts.paddingMode ?? "zeros") !== "zeros") throw new ConfigError("paddingMode", "ConvTranspose1d supports only zeros padding (as PyTorch)");
    this.padding = opts.padding ?? 0;
    this.outputPadding = opts.outputPadding ?? 0;
  }

  /** @param x [N, inChannels, L] → [N, outChannels, Lout] */
  forward(x: tf.Tensor): tf.Tensor {
    checkInput("ConvTranspose1d input", x, this.inChannels);
    const [N, C, L] = x.shape as [number, number, number];
    const K = this.kernelSize;
    const s = this.stride;
    const edge = this.dilation * (K - 1) - this.padding;
    if (edge < 0) throw new ConfigError("padding", `padding ${this.padding} larger than dilation·(K−1)`);
    return tf.tidy(() => {
      // Insert stride−1 zeros between samples, pad, then correlate with the flipped kernel.
      let up = x;
      if (s > 1) {
        const z = tf.zeros([N, C, L, s - 1]);
        up = tf.concat([x.reshape([N, C, L, 1]), z], 3).reshape([N, C, L * s]);
        up = tf.slice(up, [0, 0, 0], [-1, -1, (L - 1) * s + 1]);
      }
      const xp = tf.pad(up, [[0, 0], [0, 0], [edge, edge + this.outputPadding]]);
      const w = this.weight(); // [in, out/g, K]
      const ig = C / this.groups;
      const og = this.outChannels / this.groups;
      // Per group: [ig, og, K] → [og, ig, K] flipped along K; groups stacked on the out axis.
      const wc = tf.concat(
        [...Array(this.groups).keys()].map((g) => tf.reverse(tf.slice(w, [g * ig, 0, 0], [ig, og, K]).transpose([1, 0, 2]), 2)),
        0,
      );
      const y = conv1dValid(xp, wc, 1, this.dilation, this.groups);
      return this.bias ? tf.add(y, this.bias.reshape([1, -1, 1])) : y;
    });
  }
}
