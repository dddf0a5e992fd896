import type { HostTensor } from "../../nn/module.js";

/*
 * Official parameter names and the few layout differences between the
 * official PyTorch state dicts and neurocode's modules.
 *
 * Module paths equal the official ones, so most tensors load unchanged:
 *   sensor_embed.{sensor_embedding_layer, pos_embedding_layer.{0,2}, aggregate_mlp.layer.{0,2}, norm}
 *   encoder.{neuros, seanet_encoder.model.N..., backwardsolution.{v,proj}, k_proj}
 *   quantizer.rvq.layers.Q._codebook.{embed, embed_avg, cluster_size, inited}
 *   decoder.{forwardsolution.{kv,proj}, seanet_decoder.model.N...}
 *   (stage 2) tokenizer.*, mask_token, projection.*, blocks.I.{pre_attn_norm, time_attn.{qkv,proj,rope_embedding_layer.{freqs,rotate}},
 *             spatial_attn.{qkv,proj}, pre_ff_norm, ff.layer.{0,2}}, predict_head.*
 * Linear weights stay [out, in] and weight-normed convolutions keep
 * `weight_g`/`weight_v` (folded at run time), as PyTorch stores them.
 */

/** Suffix of the rotary cache buffer, stored complex64 [240, D/4] upstream and [240, D/4, 2] (real, imag) here. */
export const ROPE_ROTATE_SUFFIX = "rope_embedding_layer.rotate";

/** Prefixes of state-dict entries that are training state only (EMA statistics), not needed for inference. */
export const TRAINING_ONLY_SUFFIXES = ["._codebook.embed_avg", "._codebook.cluster_size"] as const;

/**
 * Turns an official state dict (as read from `.pt` or safetensors) into the
 * layout neurocode's modules register:
 * - a complex rotary cache (read from `.pt` as complex64, here already a
 *   [..., 2] real/imag pair or a real tensor [240, D/4]) becomes [240, D/4, 2].
 *   A real-only tensor gets a zero imaginary part, which is exactly what the
 *   released checkpoints hold (their DeepSpeed export kept only the cosines).
 * - `num_batches_tracked`-style integer scalars are left to `loadStateDict`.
 * Everything else passes through unchanged.
 */
export function toNeurocodeLayout(sd: Map<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of sd) {
    if (name.endsWith(ROPE_ROTATE_SUFFIX) && t.shape.length === 2) {
      const data = new Float32Array(t.data.length * 2);
      for (let i = 0; i < t.data.length; i++) data[2 * i] = t.data[i]!;
      out.set(name, { shape: [...t.shape, 2], dtype: "float32", data });
    } else out.set(name, t);
  }
  return out;
}

/** Entries under `prefix` with the prefix removed (e.g. the tokenizer inside a BrainOmni checkpoint). */
export function withoutPrefix<T>(sd: Map<string, T>, prefix: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const [k, v] of sd) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}
