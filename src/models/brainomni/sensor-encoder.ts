import * as tf from "@tensorflow/tfjs";
import { ShapeError, ValueError } from "../../errors.js";
import { SELU } from "../../nn/activations.js";
import { Dropout } from "../../nn/dropout.js";
import { Embedding } from "../../nn/embedding.js";
import { Module, Sequential } from "../../nn/module.js";
import { RMSNorm } from "../../nn/norms.js";
import { InferenceLinear } from "./derived.js";

/**
 * The official `FeedForward`: `layer` = Linear(d → hidden), SELU, Linear(hidden → d), Dropout.
 * Parameter names `layer.0.*`, `layer.2.*`.
 */
export class FeedForward extends Module {
  readonly layer: Sequential;
  constructor(dim: number, hidden: number, dropout = 0) {
    super();
    this.layer = this.registerModule("layer", new Sequential(new InferenceLinear(dim, hidden), new SELU(), new InferenceLinear(hidden, dim), new Dropout(dropout)));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.layer.call(x);
  }
}

/**
 * `BrainSensorModule`: turns each channel's 6-number vector (position,
 * orientation) and type id into a D-vector:
 * s = MLP(pos) + Embedding(type); e = RMSNorm(s + FFN(s)).
 */
export class SensorEncoder extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  readonly sensorEmbeddingLayer: Embedding;
  readonly posEmbeddingLayer: Sequential;
  readonly aggregateMlp: FeedForward;
  readonly norm: RMSNorm;
  constructor(readonly dim: number) {
    super();
    this.sensorEmbeddingLayer = this.registerModule("sensor_embedding_layer", new Embedding(3, dim));
    this.posEmbeddingLayer = this.registerModule("pos_embedding_layer", new Sequential(new InferenceLinear(6, dim / 2), new SELU(), new InferenceLinear(dim / 2, dim)));
    this.aggregateMlp = this.registerModule("aggregate_mlp", new FeedForward(dim, 4 * dim));
    this.norm = this.registerModule("norm", new RMSNorm(dim, { eps: 1e-6 }));
  }

  /**
   * @param pos [B, C, 6] float32 (normalised position, orientation)
   * @param type [B, C] int32 (EEG 0, MAG 1, GRAD 2)
   * @returns [B, C, D]
   */
  forward(pos: tf.Tensor, type: tf.Tensor): tf.Tensor {
    if (pos.rank !== 3 || pos.shape[2] !== 6) throw new ShapeError("sensor pos", ["B", "C", 6], pos.shape);
    if (type.rank !== 2 || type.shape[0] !== pos.shape[0] || type.shape[1] !== pos.shape[1]) throw new ShapeError("sensor type", [pos.shape[0]!, pos.shape[1]!], type.shape);
    if (type.dtype !== "int32") throw new ValueError(`sensor type ids must be int32, got ${type.dtype}`);
    return tf.tidy(() => {
      const s = tf.add(this.posEmbeddingLayer.call(pos), this.sensorEmbeddingLayer.call(type));
      return this.norm.call(tf.add(s, this.aggregateMlp.call(s)));
    });
  }
}
