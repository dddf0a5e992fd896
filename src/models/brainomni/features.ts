/**
 * The BrainTokenizer's encoder as a feature extractor for fine-tuning: a
 * window `[C, T]` of one sensor set becomes one vector, the mean of the
 * continuous latents over sources, windows and frames (before quantisation,
 * so gradients reach the encoder). Shaped to be a `train` FeatureEncoder.
 */
import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../../errors.js";
import type { ChannelInfo } from "../../recording/types.js";
import { brainOmniGroups, sensortypeWiseNormalize } from "../../signal/normalize.js";
import { normalizePositions, sensorVectorsFromSensors, type PositionNormalisation, type SensorVectors } from "./sensors.js";
import { unfoldWindows, type BrainTokenizer } from "./tokenizer.js";

/** Sensor vectors (pretraining position normalisation by default) of channels that carry geometry. */
export function channelSensorVectors(channels: readonly ChannelInfo[], mode: PositionNormalisation = "pretraining"): SensorVectors {
  return normalizePositions(sensorVectorsFromSensors(channels.map((c) => c.sensor), channels.map((c) => c.name)), mode);
}

/**
 * Group-normalises windows in place as the tokenizer expects
 * (`sensortype_wise_normalize` per window). `x` is `[n, C, T]` row-major.
 */
export function normalizeWindowsForTokenizer(x: Float32Array, channels: readonly ChannelInfo[], T: number): void {
  const C = channels.length;
  if (x.length % (C * T) !== 0) throw new ShapeError("windows", ["n", C, T], [x.length / (C * T), C, T]);
  const groups = brainOmniGroups(channels);
  for (let off = 0; off < x.length; off += C * T) {
    const rows = Array.from({ length: C }, (_, c) => x.subarray(off + c * T, off + (c + 1) * T));
    sensortypeWiseNormalize(rows, groups).forEach((r, c) => x.set(r, off + c * T));
  }
}

/**
 * A feature encoder over a fixed sensor set: `embed(x [B, C, T])` → `[B, nDim]`.
 * `T` must be a whole number of tokenizer windows (512 samples at 256 Hz for the released config).
 */
export function tokenizerFeatureEncoder(tokenizer: BrainTokenizer, sensors: SensorVectors): { module: BrainTokenizer; embed: (x: tf.Tensor) => tf.Tensor; dim: number } {
  const C = sensors.nChannels;
  return {
    module: tokenizer,
    dim: tokenizer.cfg.nDim,
    embed: (x: tf.Tensor) =>
      tf.tidy(() => {
        if (x.rank !== 3 || x.shape[1] !== C || x.shape[2]! % tokenizer.cfg.windowLength !== 0) {
          throw new ShapeError("tokenizer features input", ["B", C, `k·${tokenizer.cfg.windowLength}`], x.shape);
        }
        const B = x.shape[0]!;
        const pos = tf.tile(tf.tensor3d(sensors.pos, [1, C, 6]), [B, 1, 1]);
        const type = tf.tile(tf.tensor2d(sensors.type, [1, C], "int32"), [B, 1]);
        const latent = tokenizer.encoder.call(unfoldWindows(x, tokenizer.cfg.windowLength, 0), tokenizer.sensorEmbed.call(pos, type));
        return tf.mean(latent, [1, 2, 3]); // [B, P, N, T, D] → [B, D]
      }),
  };
}
