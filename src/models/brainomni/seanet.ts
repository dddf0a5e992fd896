import * as tf from "@tensorflow/tfjs";
import { ELU } from "../../nn/activations.js";
import { Conv1d, ConvTranspose1d, pad1d } from "../../nn/conv.js";
import { LSTM } from "../../nn/lstm.js";
import { Module, Sequential } from "../../nn/module.js";

/*
 * SEANet encoder and decoder as BrainOmni copies them from Meta's EnCodec
 * (model_utils/{seanet,conv,lstm}.py): non-causal, weight-normed convolutions
 * with reflect padding, residual blocks with a learned 1×1 shortcut, and a
 * 2-layer LSTM with a skip. Tensors are [rows, channels, samples] throughout,
 * the layout PyTorch uses, so module outputs compare directly with the
 * fixtures. Parameter paths match the official state dict
 * (`model.3.conv.conv.weight_g`, `model.10.lstm.weight_ih_l0`, ...).
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

/** EnCodec `pad1d` in reflect mode: inputs shorter than the pad get zeros on the right first, then trimmed back. */
function reflectPad(x: tf.Tensor, left: number, right: number): tf.Tensor {
  const L = x.shape[2]!;
  const maxPad = Math.max(left, right);
  if (L > maxPad) return pad1d(x, left, right, "reflect");
  return tf.tidy(() => {
    const extra = maxPad - L + 1;
    const xz = pad1d(x, 0, extra, "zeros");
    const padded = pad1d(xz, left, right, "reflect");
    return tf.slice(padded, [0, 0, 0], [-1, -1, padded.shape[2]! - extra]);
  });
}

/** EnCodec `SConv1d` (non-causal, reflect, weight norm): `conv.conv.{weight_g, weight_v, bias}`. */
export class SConv1d extends Module {
  readonly conv: Holder<Conv1d>;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly stride = 1) {
    super();
    this.conv = this.registerModule("conv", new Holder("conv", new Conv1d(inChannels, outChannels, kernelSize, { stride, weightNorm: true })));
  }

  /** @param x [N, in, L] → [N, out, ⌈L / stride⌉] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const k = this.kernelSize;
      const total = k - this.stride;
      const extra = extraPaddingForConv1d(x.shape[2]!, k, this.stride, total);
      const right = Math.floor(total / 2);
      const left = total - right;
      return this.conv.call(reflectPad(x, left, right + extra));
    });
  }
}

/** EnCodec `SConvTranspose1d` (non-causal): trims k − stride samples, right = half rounded down. */
export class SConvTranspose1d extends Module {
  readonly convtr: Holder<ConvTranspose1d>;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly stride: number) {
    super();
    this.convtr = this.registerModule("convtr", new Holder("convtr", new ConvTranspose1d(inChannels, outChannels, kernelSize, { stride, weightNorm: true })));
  }

  /** @param x [N, in, L] → [N, out, L·stride] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const y = this.convtr.call(x);
      const total = this.kernelSize - this.stride;
      const right = Math.floor(total / 2);
      const left = total - right;
      return tf.slice(y, [0, 0, left], [-1, -1, y.shape[2]! - left - right]);
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

/** 2-layer LSTM along the time axis with the input added back (`SLSTM`, skip=True). */
export class SLSTM extends Module {
  readonly lstm: LSTM;
  constructor(dim: number, numLayers = 2) {
    super();
    this.lstm = this.registerModule("lstm", new LSTM(dim, dim, { numLayers }));
  }
  /** @param x [N, C, T] → [N, C, T] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const seq = x.transpose([2, 0, 1]);
      const { output, h, c } = this.lstm.call(seq);
      h.dispose();
      c.dispose();
      return tf.add(output, seq).transpose([1, 2, 0]);
    });
  }
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
 * SEANet encoder: [N, 1, L] → [N, dimension, L / hop]. Module indices as in
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

/** SEANet decoder: [N, dimension, T] → [N, 1, T · hop]; mirror image of the encoder. */
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
