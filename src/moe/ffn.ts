import { ConfigError } from "../errors.js";
import type { ActivationName } from "../nn/functional.js";
import { FeedForward, SwiGLU } from "../nn/mlp.js";
import { MoEFeedForward, type MoEOptions } from "./layer.js";

/** A dense position-wise MLP `fc2(act(fc1(x)))` (`nn.FeedForward`). */
export interface DenseFfnConfig {
  type: "dense";
  hidden: number;
  activation?: ActivationName;
  bias?: boolean;
  dropout?: number;
}

/** A LLaMA-style SwiGLU MLP (`nn.SwiGLU`). */
export interface SwiGluFfnConfig {
  type: "swiglu";
  hidden: number;
  bias?: boolean;
}

/** A sparse mixture of experts (`MoEFeedForward`); `hidden` is the width of each expert. */
export interface MoEFfnConfig extends MoEOptions {
  type: "moe";
}

/** The `ffn` block of any model config: `{ type: "dense" | "swiglu" | "moe", ... }`. */
export type FfnConfig = DenseFfnConfig | SwiGluFfnConfig | MoEFfnConfig;

/** Any module `buildFeedForward` returns: maps [..., d] → [..., d]. */
export type FeedForwardBlock = FeedForward | SwiGLU | MoEFeedForward;

const KEYS: Record<FfnConfig["type"], readonly string[]> = {
  dense: ["type", "hidden", "activation", "bias", "dropout"],
  swiglu: ["type", "hidden", "bias"],
  moe: [
    "type", "experts", "topK", "hidden", "capacityFactor", "evalCapacityFactor", "activation", "glu", "bias", "score",
    "renormalize", "noisy", "jitter", "auxLossCoef", "zLossCoef", "sharedHidden", "routedScale", "sharedScale", "expertMap",
  ],
};

/**
 * Builds the feed-forward block a config asks for, so that any model switches
 * a dense FFN to a sparse MoE by configuration alone:
 * `buildFeedForward(256, { type: "moe", experts: 8, topK: 2, hidden: 512 })`.
 * Unknown types or keys and bad values are `ConfigError`s naming `path.key`.
 * Losses of MoE blocks are gathered with `collectMoEAux`.
 */
export function buildFeedForward(dModel: number, config: FfnConfig, path = "ffn"): FeedForwardBlock {
  const cfg = config as unknown as Record<string, unknown>;
  if (typeof cfg !== "object" || cfg === null) throw new ConfigError(path, "must be an object");
  const type = cfg.type as FfnConfig["type"];
  if (!(type in KEYS)) throw new ConfigError(`${path}.type`, `unknown feed-forward type "${String(cfg.type)}" (dense, swiglu, moe)`);
  for (const key of Object.keys(cfg)) if (!KEYS[type].includes(key)) throw new ConfigError(`${path}.${key}`, `unknown key for type "${type}"`);
  if (!Number.isInteger(config.hidden) || config.hidden < 1) throw new ConfigError(`${path}.hidden`, `must be a positive integer, got ${String(config.hidden)}`);
  switch (config.type) {
    case "dense":
      return new FeedForward(dModel, config.hidden, { activation: config.activation, bias: config.bias, dropout: config.dropout });
    case "swiglu":
      return new SwiGLU(dModel, config.hidden, { bias: config.bias });
    case "moe": {
      const { type: _t, ...opts } = config;
      return new MoEFeedForward(dModel, opts, path);
    }
  }
}
