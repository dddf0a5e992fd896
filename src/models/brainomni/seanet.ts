import * as tf from "@tensorflow/tfjs";
import { ELU } from "../../nn/activations.js";
import { lstmFusable, lstmLayerFused } from "../../engine/recurrent.js";
import { ShapeError } from "../../errors.js";
import { Conv1d, ConvTranspose1d } from "../../nn/conv.js";
import { LSTM } from "../../nn/lstm.js";
import { Module, Sequential } from "../../nn/module.js";
import { DerivedWeights, type DerivedHolder } from "./derived.js";

/*
 * SEANet encoder and decoder as BrainOmni copies them from Meta's EnCodec
 * (model_utils/{seanet,conv,lstm}.py): non-causal, weight-normed convolutions
 * with reflect padding, residual blocks with a learned 1×1 shortcut, and a
 * 2-layer LSTM with a skip. Tensors are [rows, samples, channels] (NLC)
 * throughout — PyTorch's NCL transposed — because the wasm backend's fast
 * convolution (XNNPACK Conv2D) and matrix products want channels last and its
 * transposes are slow. Parameter paths match the official state dict
 * (`model.3.conv.conv.weight_g`, `model.10.lstm.weight_ih_l0`, ...); the
 * parameters live in the engine's `Conv1d`/`ConvTranspose1d` (weight norm), only
 * the arithmetic is done here (see `conv1dNLC`).
 */

/** Holds a layer under the name `conv` / `convtr`, mirroring EnCodec's NormConv wrappers. */
class Holder<M extends Module> extends Module {
  constructor(name: string, readonly inner: M) {
    super();
    this.registerModule(name, inner);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.inner.call(x);
  }
}

/**
 * EnCodec `get_extra_padding_for_conv1d`: right padding that makes the last
 * stride window complete.
 */
export function extraPaddingForConv1d(length: number, kernelSize: number, stride: number, paddingTotal: number): number {
  const nFrames = (length - kernelSize + paddingTotal) / stride + 1;
  const idealLength = (Math.ceil(nFrames) - 1) * stride + (kernelSize - paddingTotal);
  return idealLength - length;
}

/**
 * Reflect padding along the time axis of [N, L, C] as one MirrorPad kernel,
 * with its exact gradient (tfjs' own MirrorPad gradient drops the reflected
 * part): the middle of dy plus each pad's slice reversed onto the samples it
 * copied. Inputs shorter than the pad get zeros on the right first, then
 * trimmed back (EnCodec `pad1d`).
 */
export function reflectPadNLC(x: tf.Tensor, left: number, right: number): tf.Tensor {
  if (left === 0 && right === 0) return x.clone();
  return tf.tidy(() => {
    const L = x.shape[1]!;
    const maxPad = Math.max(left, right);
    const extra = L <= maxPad ? maxPad - L + 1 : 0;
    const xs = extra ? tf.pad(x, [[0, 0], [0, extra], [0, 0]]) : x;
    const y = mirrorPadTime(left, right)(xs) as tf.Tensor;
    return extra ? tf.slice(y, [0, 0, 0], [-1, y.shape[1]! - extra, -1]) : y;
  });
}

function mirrorPadTime(left: number, right: number): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const L = x.shape[1]!;
    return {
      value: tf.mirrorPad(x, [[0, 0], [left, right], [0, 0]], "reflect"),
      gradFunc: (dy: tf.Tensor) => {
        // Padded sample j < left is x[left − j]; right pad sample j is x[L − 2 − j].
        let dx = tf.slice(dy, [0, left, 0], [-1, L, -1]);
        if (left) dx = tf.add(dx, tf.pad(tf.reverse(tf.slice(dy, [0, 0, 0], [-1, left, -1]), 1), [[0, 0], [1, L - 1 - left], [0, 0]]));
        if (right) dx = tf.add(dx, tf.pad(tf.reverse(tf.slice(dy, [0, left + L, 0], [-1, right, -1]), 1), [[0, 0], [L - 1 - right, 1], [0, 0]]));
        return dx;
      },
    };
  }) as (x: tf.Tensor) => tf.Tensor;
}

/** A [Cout, Cin, K] (PyTorch) weight as the backend's Conv2D filter [1, K, Cin, Cout]. */
export function conv2dFilter(w: tf.Tensor): tf.Tensor {
  const [Cout, Cin, K] = w.shape as [number, number, number];
  return tf.tidy(() => w.transpose([2, 1, 0]).reshape([1, K, Cin, Cout]));
}

/**
 * Inference convolution: valid 1-D cross-correlation of x [N, L, Cin] with a
 * `conv2dFilter` [1, K, Cin, Cout], plus `bias` [Cout] added inside the same
 * kernel (the backend's fused Conv2D, XNNPACK on wasm) → [N, Lout, Cout].
 */
export function conv1dInferenceNLC(x: tf.Tensor, filter: tf.Tensor, stride: number, bias: tf.Tensor | null): tf.Tensor {
  const [N, L, C] = x.shape as [number, number, number];
  const [, K, , Cout] = filter.shape as [number, number, number, number];
  const Lout = Math.floor((L - K) / stride) + 1;
  return tf.tidy(() => {
    const y = tf.fused.conv2d({ x: x.reshape([N, 1, L, C]) as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: [1, stride], pad: "valid", bias: bias ?? undefined });
    return y.reshape([N, Lout, Cout]);
  });
}

/**
 * Differentiable valid 1-D cross-correlation of x [N, L, Cin] with w [Cout,
 * Cin, K] (PyTorch layout) → [N, Lout, Cout], as matrix products the wasm
 * backend can differentiate (it has no Conv2DBackpropFilter): stride 1 as one
 * product per tap; stride s with K = m·s by folding s samples into the channel
 * axis (m products).
 */
export function conv1dNLC(x: tf.Tensor, w: tf.Tensor, stride: number): tf.Tensor {
  const [N, L, C] = x.shape as [number, number, number];
  const [Cout, , K] = w.shape as [number, number, number];
  const Lout = Math.floor((L - K) / stride) + 1;
  return tf.tidy(() => {
    const wk = w.transpose([2, 1, 0]); // [K, Cin, Cout]
    if (stride === 1) {
      let y: tf.Tensor | null = null;
      for (let k = 0; k < K; k++) {
        const tap = tf.matMul(tf.slice(x, [0, k, 0], [-1, Lout, -1]).reshape([N * Lout, C]), tf.squeeze(tf.slice(wk, [k, 0, 0], [1, -1, -1]), [0]));
        y = y ? tf.add(y, tap) : tap;
      }
      return y!.reshape([N, Lout, Cout]);
    }
    if (K % stride !== 0) throw new ShapeError(`conv kernel ${K} with stride ${stride}`, [`k·${stride}`], [K]);
    const m = K / stride;
    const frames = Lout + m - 1;
    const xf = tf.slice(x, [0, 0, 0], [-1, frames * stride, -1]).reshape([N, frames, stride * C]);
    let y: tf.Tensor | null = null;
    for (let j = 0; j < m; j++) {
      const wj = tf.slice(wk, [j * stride, 0, 0], [stride, -1, -1]).reshape([stride * C, Cout]);
      const part = tf.matMul(tf.slice(xf, [0, j, 0], [-1, Lout, -1]).reshape([N * Lout, stride * C]), wj);
      y = y ? tf.add(y, part) : part;
    }
    return y!.reshape([N, Lout, Cout]);
  });
}

/** A transposed-convolution weight [Cin, Cout, K] (PyTorch) as the product matrix [Cin, K·Cout] of `convTranspose1dNLC`. */
export function convTransposeMatrix(w: tf.Tensor): tf.Tensor {
  const [Cin, Cout, K] = w.shape as [number, number, number];
  return tf.tidy(() => w.transpose([0, 2, 1]).reshape([Cin, K * Cout]));
}

/**
 * Transposed 1-D convolution of x [N, L, Cin] with `wm` = `convTransposeMatrix(w)`
 * [Cin, K·Cout], no padding → [N, (L−1)·s + K, Cout], for K = m·s: one product
 * gives every tap, and the m blocks of s taps are overlap-added with shifts.
 */
export function convTranspose1dNLC(x: tf.Tensor, wm: tf.Tensor, kernelSize: number, stride: number): tf.Tensor {
  const [N, L, Cin] = x.shape as [number, number, number];
  const K = kernelSize;
  const Cout = wm.shape[1]! / K;
  if (K % stride !== 0) throw new ShapeError(`transposed conv kernel ${K} with stride ${stride}`, [`k·${stride}`], [K]);
  const m = K / stride;
  return tf.tidy(() => {
    const z = tf.matMul(x.reshape([N * L, Cin]), wm).reshape([N, L, m, stride * Cout]);
    let y: tf.Tensor | null = null;
    for (let j = 0; j < m; j++) {
      const block = tf.squeeze(tf.slice(z, [0, 0, j, 0], [-1, -1, 1, -1]), [2]).reshape([N, L * stride, Cout]);
      const shifted = tf.pad(block, [[0, 0], [j * stride, (m - 1 - j) * stride], [0, 0]]);
      y = y ? tf.add(y, shifted) : shifted;
    }
    return y!.slice([0, 0, 0], [-1, (L - 1) * stride + K, -1]);
  });
}

/**
 * EnCodec `SConv1d` (non-causal, reflect, weight norm): `conv.conv.{weight_g, weight_v, bias}`.
 * In eval mode the Conv2D filter (weight norm applied, re-laid-out) is kept
 * between calls and the bias is added inside the convolution kernel.
 */
export class SConv1d extends Module implements DerivedHolder {
  readonly conv: Holder<Conv1d>;
  readonly derived = new DerivedWeights();
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly stride = 1) {
    super();
    this.conv = this.registerModule("conv", new Holder("conv", new Conv1d(inChannels, outChannels, kernelSize, { stride, weightNorm: true })));
  }

  private filter(): tf.Tensor {
    const layer = this.conv.inner;
    return this.derived.get("filter", layer.parameters(), () => conv2dFilter(layer.weight()));
  }

  prepareDerived(): void {
    this.filter();
  }

  /** @param x [N, L, in] → [N, ⌈L / stride⌉, out] */
  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.inChannels) throw new ShapeError("SConv1d input", ["N", "L", this.inChannels], x.shape);
    return tf.tidy(() => {
      const k = this.kernelSize;
      const total = k - this.stride;
      const extra = extraPaddingForConv1d(x.shape[1]!, k, this.stride, total);
      const right = Math.floor(total / 2);
      const left = total - right;
      const layer = this.conv.inner;
      const xp = reflectPadNLC(x, left, right + extra);
      if (!this.training) return conv1dInferenceNLC(xp, this.filter(), this.stride, layer.bias);
      const y = conv1dNLC(xp, layer.weight(), this.stride);
      return layer.bias ? tf.add(y, layer.bias) : y;
    });
  }
}

/**
 * EnCodec `SConvTranspose1d` (non-causal): trims k − stride samples, right = half rounded down.
 * In eval mode the product matrix (weight norm applied, re-laid-out) is kept between calls.
 */
export class SConvTranspose1d extends Module implements DerivedHolder {
  readonly convtr: Holder<ConvTranspose1d>;
  readonly derived = new DerivedWeights();
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly stride: number) {
    super();
    this.convtr = this.registerModule("convtr", new Holder("convtr", new ConvTranspose1d(inChannels, outChannels, kernelSize, { stride, weightNorm: true })));
  }

  private matrix(): tf.Tensor {
    const layer = this.convtr.inner;
    return this.derived.get("matrix", layer.parameters(), () => convTransposeMatrix(layer.weight()));
  }

  prepareDerived(): void {
    this.matrix();
  }

  /** @param x [N, L, in] → [N, L·stride, out] */
  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.inChannels) throw new ShapeError("SConvTranspose1d input", ["N", "L", this.inChannels], x.shape);
    return tf.tidy(() => {
      const layer = this.convtr.inner;
      const wm = this.training ? convTransposeMatrix(layer.weight()) : this.matrix();
      const y0 = convTranspose1dNLC(x, wm, this.kernelSize, this.stride);
      const y = layer.bias ? tf.add(y0, layer.bias) : y0;
      const total = this.kernelSize - this.stride;
      const right = Math.floor(total / 2);
      const left = total - right;
      return tf.slice(y, [0, left, 0], [-1, y.shape[1]! - left - right, -1]);
    });
  }
}

/** Residual block: ELU → conv k3 (dim → dim/2) → ELU → conv k1 (dim/2 → dim), plus a learned 1×1 shortcut. */
export class SEANetResnetBlock extends Module {
  readonly block: Sequential;
  readonly shortcut: SConv1d;
  constructor(dim: number, kernelSize = 3, compress = 2) {
    super();
    const hidden = Math.floor(dim / compress);
    this.block = this.registerModule("block", new Sequential(new ELU(), new SConv1d(dim, hidden, kernelSize), new ELU(), new SConv1d(hidden, dim, 1)));
    this.shortcut = this.registerModule("shortcut", new SConv1d(dim, dim, 1));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(this.shortcut.call(x), this.block.call(x)));
  }
}

/**
 * 2-layer LSTM along the time axis with the input added back (`SLSTM`, skip=True).
 * In eval mode on wasm the layers run from kept, pre-transposed weights with the
 * fused recurrence (see `lstmInference`).
 */
export class SLSTM extends Module implements DerivedHolder {
  readonly lstm: LSTM;
  readonly derived = new DerivedWeights();
  constructor(dim: number, numLayers = 2) {
    super();
    this.lstm = this.registerModule("lstm", new LSTM(dim, dim, { numLayers, batchFirst: true }));
  }

  /** Per layer: W_ihᵀ [in, 4H], W_hhᵀ [H, 4H] and b_ih + b_hh [4H], kept per weights version. */
  private layerWeights(): { wihT: tf.Tensor; whhT: tf.Tensor; bias: tf.Tensor | null }[] {
    const p = new Map(this.lstm.namedParameters());
    return Array.from({ length: this.lstm.numLayers }, (_, l) => {
      const [wih, whh, bih, bhh] = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map((n) => p.get(`${n}_l${l}`));
      return {
        wihT: this.derived.get(`wihT${l}`, [wih!], () => tf.transpose(wih!)),
        whhT: this.derived.get(`whhT${l}`, [whh!], () => tf.transpose(whh!)),
        bias: bih && bhh ? this.derived.get(`bias${l}`, [bih, bhh], () => tf.stack([bih, bhh])) : null,
      };
    });
  }

  prepareDerived(): void {
    this.layerWeights();
  }

  /** @param x [N, T, C] → [N, T, C] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const fast = this.training ? null : lstmInference(x, this.layerWeights());
      if (fast) return tf.add(fast, x);
      const { output, h, c } = this.lstm.call(x);
      h.dispose();
      c.dispose();
      return tf.add(output, x);
    });
  }
}

/**
 * Inference of a stacked LSTM (gate order i, f, g, o) over x [N, T, C] from
 * pre-transposed weights → top layer's states [N, T, H]. Per layer the input
 * projection of all steps is one product and the recurrence one fused kernel
 * (`engine/recurrent.ts`, which adds both biases in `nn/lstm.ts`'s order).
 * @returns null where that kernel is unavailable (not wasm, H not a multiple of 4): run `nn/lstm.ts` then.
 */
export function lstmInference(x: tf.Tensor, layers: { wihT: tf.Tensor; whhT: tf.Tensor; bias: tf.Tensor | null }[]): tf.Tensor | null {
  if (!layers.every((l) => lstmFusable(l.whhT))) return null;
  const [N, T] = x.shape as [number, number, number];
  return tf.tidy(() => {
    let seq = x;
    for (const { wihT, whhT, bias } of layers) {
      const xw = tf.matMul(seq.reshape([N * T, -1]), wihT).reshape([N, T, -1]);
      seq = lstmLayerFused(xw, whhT, bias ?? tf.zeros([2, whhT.shape[1]!]))!;
    }
    return seq;
  });
}

/** Sizes shared by the encoder and decoder. */
export interface SEANetSizes {
  nFilters: number;
  /** Decoder order (the encoder runs them reversed). */
  ratios: number[];
  kernelSize: number;
  lastKernelSize: number;
  dimension: number;
}

/**
 * SEANet encoder: [N, L, 1] → [N, L / hop, dimension]. Module indices as in
 * the official `model` Sequential: conv, then per ratio (res block, ELU,
 * strided conv), then SLSTM, ELU, last conv.
 */
export class SEANetEncoder extends Module {
  readonly model: Sequential;
  constructor(s: SEANetSizes) {
    super();
    let mult = 1;
    const layers: Module[] = [new SConv1d(1, s.nFilters, s.kernelSize)];
    for (const ratio of [...s.ratios].reverse()) {
      layers.push(new SEANetResnetBlock(mult * s.nFilters), new ELU(), new SConv1d(mult * s.nFilters, mult * s.nFilters * 2, ratio * 2, ratio));
      mult *= 2;
    }
    layers.push(new SLSTM(mult * s.nFilters), new ELU(), new SConv1d(mult * s.nFilters, s.dimension, s.lastKernelSize));
    this.model = this.registerModule("model", new Sequential(...layers));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.model.call(x);
  }
}

/** SEANet decoder: [N, T, dimension] → [N, T · hop, 1]; mirror image of the encoder. */
export class SEANetDecoder extends Module {
  readonly model: Sequential;
  constructor(s: SEANetSizes) {
    super();
    let mult = 2 ** s.ratios.length;
    const layers: Module[] = [new SConv1d(s.dimension, mult * s.nFilters, s.kernelSize), new SLSTM(mult * s.nFilters)];
    for (const ratio of s.ratios) {
      layers.push(new ELU(), new SConvTranspose1d(mult * s.nFilters, (mult * s.nFilters) / 2, ratio * 2, ratio), new SEANetResnetBlock((mult * s.nFilters) / 2));
      mult /= 2;
    }
    layers.push(new ELU(), new SConv1d(s.nFilters, 1, s.lastKernelSize));
    this.model = this.registerModule("model", new Sequential(...layers));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.model.call(x);
  }
}
