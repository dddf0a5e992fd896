import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../../errors.js";

/** The tokenizer's loss terms (scalars); `loss` is their weighted sum. */
export interface TokenizerLosses {
  /** mean |x̂ − x̃| */
  timeLoss: tf.Tensor;
  /** mean per-window Pearson correlation of x̂ and x̃ (enters as exp(−pcc)) */
  pcc: tf.Tensor;
  /** mean over RVQ levels of 0.25·MSE(residual, sg(codeword)) */
  commitmentLoss: tf.Tensor;
  /** mean |‖F(x̂)‖ − ‖F(x̃)‖| with F = orthonormal rfft of the Hamming-windowed window */
  ampLoss: tf.Tensor;
  /** mean |∠F(x̂) − ∠F(x̃)| (no wrap-around) */
  phaseLoss: tf.Tensor;
  /** time + exp(−pcc) + commitment + amp + 0.5·phase (also the official `judge_loss`) */
  loss: tf.Tensor;
}

/**
 * Per-window z-score over the last axis: (x − mean) / (unbiased std + 1e-6),
 * the reconstruction target. @param x [..., L]
 */
export function zscoreWindows(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const L = x.shape[x.rank - 1]!;
    const mean = tf.mean(x, -1, true);
    const xc = tf.sub(x, mean);
    const std = tf.sqrt(tf.div(tf.sum(tf.square(xc), -1, true), L - 1));
    return tf.div(xc, tf.add(std, 1e-6));
  });
}

/** Periodic Hamming window 0.54 − 0.46·cos(2πn/L) (`torch.hamming_window(L)`). */
function hamming(L: number): Float32Array {
  const w = new Float32Array(L);
  for (let n = 0; n < L; n++) w[n] = 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / L);
  return w;
}

const dftCache = new Map<number, { cos: Float32Array; sin: Float32Array }>();

/**
 * Windowed orthonormal real-DFT matrices [L, L/2+1] (Hamming folded in).
 * The angle index k·n is reduced modulo L first so that the sine of the DC
 * and Nyquist bins is exactly zero, as in an FFT: otherwise the phase of a
 * real, negative bin could flip between +π and −π.
 */
function dftMatrices(L: number): { cos: Float32Array; sin: Float32Array } {
  let m = dftCache.get(L);
  if (m) return m;
  const K = Math.floor(L / 2) + 1;
  const w = hamming(L);
  const cos = new Float32Array(L * K);
  const sin = new Float32Array(L * K);
  const scale = 1 / Math.sqrt(L);
  for (let n = 0; n < L; n++) {
    for (let k = 0; k < K; k++) {
      const j = (k * n) % L;
      const s = 2 * j === L || j === 0 ? 0 : Math.sin((2 * Math.PI * j) / L);
      cos[n * K + k] = w[n]! * Math.cos((2 * Math.PI * j) / L) * scale;
      sin[n * K + k] = -w[n]! * s * scale;
    }
  }
  m = { cos, sin };
  dftCache.set(L, m);
  return m;
}

/** Real and imaginary parts of rfft(hamming ⊙ x, norm="ortho") over the last axis. */
export function windowedRfft(x: tf.Tensor): { re: tf.Tensor; im: tf.Tensor } {
  const L = x.shape[x.rank - 1]!;
  const K = Math.floor(L / 2) + 1;
  const { cos, sin } = dftMatrices(L);
  return tf.tidy(() => {
    const flat = x.reshape([-1, L]);
    const shape = [...x.shape.slice(0, -1), K];
    return {
      re: tf.matMul(flat, tf.tensor2d(cos, [L, K])).reshape(shape),
      im: tf.matMul(flat, tf.tensor2d(sin, [L, K])).reshape(shape),
    };
  });
}

/** Mean Pearson correlation over windows (unbiased covariance and stds, +1e-6 in the denominator). */
export function meanPcc(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const L = a.shape[a.rank - 1]!;
    const ac = tf.sub(a, tf.mean(a, -1, true));
    const bc = tf.sub(b, tf.mean(b, -1, true));
    const cov = tf.div(tf.sum(tf.mul(ac, bc), -1), L - 1);
    const sa = tf.sqrt(tf.div(tf.sum(tf.square(ac), -1), L - 1));
    const sb = tf.sqrt(tf.div(tf.sum(tf.square(bc), -1), L - 1));
    return tf.mean(tf.div(cov, tf.add(tf.mul(sa, sb), 1e-6)));
  });
}

/**
 * The official tokenizer loss (`braintokenizer/model.py`, `model_utils/loss.py`).
 * @param xRec reconstruction [..., L]
 * @param target z-scored windows [..., L] (see `zscoreWindows`)
 * @param commitmentLoss scalar from the quantizer
 * @param phaseWeight weight of the phase term (0.5 officially). Its gradient
 *   scales as 1/|F(x̂)|, which is huge while the reconstruction is still near
 *   zero; a warm start with 0 is an option when training from scratch.
 */
export function tokenizerLoss(xRec: tf.Tensor, target: tf.Tensor, commitmentLoss: tf.Tensor, phaseWeight = 0.5): TokenizerLosses {
  if (xRec.shape.join() !== target.shape.join()) throw new ShapeError("reconstruction vs target", target.shape, xRec.shape);
  return tf.tidy(() => {
    const timeLoss = tf.mean(tf.abs(tf.sub(xRec, target)));
    const pcc = meanPcc(xRec, target);
    const fr = windowedRfft(xRec);
    const ft = windowedRfft(target);
    const amp = (f: { re: tf.Tensor; im: tf.Tensor }): tf.Tensor => tf.sqrt(tf.add(tf.square(f.re), tf.square(f.im)));
    const ampLoss = tf.mean(tf.abs(tf.sub(amp(fr), amp(ft))));
    const phaseLoss = tf.mean(tf.abs(tf.sub(tf.atan2(fr.im, fr.re), tf.atan2(ft.im, ft.re))));
    const commit = commitmentLoss.clone();
    const loss = tf.addN([timeLoss, tf.exp(tf.neg(pcc)), commit, ampLoss, tf.mul(phaseLoss, phaseWeight)]);
    return { timeLoss, pcc, commitmentLoss: commit, ampLoss, phaseLoss, loss } as unknown as tf.TensorContainer;
  }) as unknown as TokenizerLosses;
}
