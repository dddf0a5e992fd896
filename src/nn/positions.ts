import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError } from "../errors.js";
import { Module } from "./module.js";

/**
 * Sinusoidal position table [n, dim] of "Attention is all you need":
 * even columns sin(p/base^(2i/dim)), odd columns cos of the same angle.
 */
export function sinusoidalTable(n: number, dim: number, base = 10000): tf.Tensor {
  if (dim % 2) throw new ConfigError("dim", `sinusoidal positions need an even dim, got ${dim}`);
  const t = new Float32Array(n * dim);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < dim / 2; i++) {
      const a = p / Math.pow(base, (2 * i) / dim);
      t[p * dim + 2 * i] = Math.sin(a);
      t[p * dim + 2 * i + 1] = Math.cos(a);
    }
  }
  return tf.tensor(t, [n, dim]);
}

/** Adds the sinusoidal table to [N, T, dim] inputs (no parameters, nothing in the state dict). */
export class SinusoidalPositionalEncoding extends Module {
  private readonly table: tf.Tensor;
  constructor(readonly dim: number, readonly maxLen = 4096) {
    super();
    this.table = sinusoidalTable(maxLen, dim);
  }
  forward(x: tf.Tensor): tf.Tensor {
    const T = x.shape[x.rank - 2]!;
    if (x.shape[x.rank - 1] !== this.dim || T > this.maxLen) throw new ShapeError("positional encoding input", ["...", `<=${this.maxLen}`, this.dim], x.shape);
    return tf.tidy(() => tf.add(x, tf.slice(this.table, [0, 0], [T, this.dim])));
  }
  override dispose(): void {
    this.table.dispose();
    super.dispose();
  }
}

/** Options of `RotaryEmbedding`. */
export interface RotaryOptions {
  /** Frequency base (default 10000). */
  base?: number;
  /**
   * Pairing of rotated features: `false` (default) rotates halves (x[i], x[i+d/2]),
   * as GPT-NeoX/LLaMA-HF; `true` rotates adjacent pairs (x[2i], x[2i+1]), as the
   * original RoFormer and BrainOmni.
   */
  interleaved?: boolean;
}

/**
 * Rotary position embedding (RoPE) over the last axis of [..., T, dim]:
 * feature pair i at position p is rotated by p·base^(−2i/dim).
 */
export class RotaryEmbedding extends Module<[tf.Tensor, number?], tf.Tensor> {
  readonly base: number;
  readonly interleaved: boolean;
  constructor(readonly dim: number, opts: RotaryOptions = {}) {
    super();
    if (dim % 2) throw new ConfigError("dim", `rotary embedding needs an even dim, got ${dim}`);
    this.base = opts.base ?? 10000;
    this.interleaved = opts.interleaved ?? false;
  }

  /** cos and sin tables [T, dim] laid out to match the pairing. */
  private tables(T: number, offset: number): [tf.Tensor, tf.Tensor] {
    const d = this.dim;
    const c = new Float32Array(T * d);
    const s = new Float32Array(T * d);
    for (let p = 0; p < T; p++) {
      for (let i = 0; i < d / 2; i++) {
        const a = (p + offset) * Math.pow(this.base, (-2 * i) / d);
        const [j1, j2] = this.interleaved ? [2 * i, 2 * i + 1] : [i, i + d / 2];
        c[p * d + j1] = c[p * d + j2] = Math.cos(a);
        s[p * d + j1] = s[p * d + j2] = Math.sin(a);
      }
    }
    return [tf.tensor(c, [T, d]), tf.tensor(s, [T, d])];
  }

  /** @param x [..., T, dim] @param offset position of the first step (default 0) → same shape */
  forward(x: tf.Tensor, offset = 0): tf.Tensor {
    const T = x.shape[x.rank - 2]!;
    if (x.shape[x.rank - 1] !== this.dim) throw new ShapeError("rotary input", ["...", "T", this.dim], x.shape);
    return tf.tidy(() => {
      const [cos, sin] = this.tables(T, offset);
      const d = this.dim;
      let rotated: tf.Tensor;
      if (this.interleaved) {
        // (x0, x1) → (−x1, x0) for each adjacent pair.
        const pairs = x.reshape([...x.shape.slice(0, -1), d / 2, 2]);
        const [a, b] = tf.unstack(pairs, pairs.rank - 1) as [tf.Tensor, tf.Tensor];
        rotated = tf.stack([tf.neg(b), a], pairs.rank - 1).reshape(x.shape);
      } else {
        const [a, b] = tf.split(x, 2, x.rank - 1) as [tf.Tensor, tf.Tensor];
        rotated = tf.concat([tf.neg(b), a], x.rank - 1);
      }
      return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
    });
  }
}
