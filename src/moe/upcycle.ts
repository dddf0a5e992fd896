import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.js";
import { rng } from "../engine/random.js";
import { FeedForward, SwiGLU } from "../nn/mlp.js";
import { MoEFeedForward, type MoEOptions } from "./layer.js";

/** Options of `upcycleFeedForward`: the MoE options except what the dense FFN fixes. */
export interface UpcycleOptions extends Omit<MoEOptions, "hidden" | "glu" | "bias" | "sharedHidden"> {
  /** Std of Gaussian noise added to each copied expert weight (AdaMoE: 0.01, README 0). Default 0. */
  noiseStd?: number;
  /** Std of the router weight init N(0, σ²) (AdaMoE: 0.006). Default 0.006. */
  routerInitStd?: number;
}

/**
 * Sparse upcycling: an MoE whose every expert is a copy of the trained dense
 * FFN (`nn.FeedForward` or `nn.SwiGLU`), with a freshly initialised router.
 *
 * With `noiseStd = 0` and renormalised gates the gates of a token sum to 1, so
 * the MoE computes the dense function (up to float rounding) as long as no
 * assignment is dropped. `FeedForward` does not expose its activation, so
 * `opts.activation` must repeat it (default `gelu`, FeedForward's default);
 * SwiGLU experts always use `silu`. Dropout is not carried over.
 */
export function upcycleFeedForward(dense: FeedForward | SwiGLU, opts: UpcycleOptions): MoEFeedForward {
  const noise = opts.noiseStd ?? 0;
  if (!(noise >= 0)) throw new ConfigError("upcycle.noiseStd", `must be ≥ 0, got ${noise}`);
  const { noiseStd: _n, routerInitStd, ...moeOpts } = opts;
  const glu = dense instanceof SwiGLU;
  const d = dense.dim;
  const h = dense.hidden;
  const e = opts.experts;
  const parts = glu
    ? { up: dense.w3, gate: dense.w1, down: dense.w2 }
    : { up: (dense as FeedForward).fc1, gate: null, down: (dense as FeedForward).fc2 };
  const bias = parts.up.bias !== null;
  if (glu && bias) throw new ConfigError("upcycle", "SwiGLU with biases cannot be upcycled (gated experts have no gate bias)");
  const moe = new MoEFeedForward(d, { ...moeOpts, hidden: h, glu, bias, activation: glu ? "silu" : (opts.activation ?? "gelu") }, "upcycle");
  // Linear keeps [out, in]; experts are input-major, hence the transposes.
  const copies = (w: tf.Tensor, transpose: boolean): tf.Tensor =>
    tf.tidy(() => {
      const base = transpose ? tf.transpose(w) : w;
      const stacked = tf.stack(Array.from({ length: e }, () => base));
      return noise > 0 ? tf.add(stacked, tf.tensor(rng().normalArray(stacked.size, 0, noise), stacked.shape)) : stacked;
    });
  const sd: Record<string, tf.Tensor> = {
    "router.layer.weight": tf.tensor(rng().normalArray(e * d, 0, routerInitStd ?? 0.006), [e, d]),
    "experts.w_up": copies(parts.up.weight, true),
    "experts.w_down": copies(parts.down.weight, true),
  };
  if (parts.gate) sd["experts.w_gate"] = copies(parts.gate.weight, true);
  if (bias) {
    sd["experts.b_up"] = copies(parts.up.bias!, false);
    sd["experts.b_down"] = copies(parts.down.bias!, false);
  }
  // Only a noisy router has a parameter (`router.noise`) that the copy does not set.
  moe.loadStateDict(sd, { strict: !opts.noisy });
  tf.dispose(Object.values(sd));
  return moe;
}
