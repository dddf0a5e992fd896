import * as tf from "@tensorflow/tfjs";
import { ValueError } from "../errors.js";
import { gatherRows } from "../engine/gather.js";
import { normal } from "./init.js";
import { Module } from "./module.js";

/**
 * Lookup table of `numEmbeddings` vectors of size `dim`, as `torch.nn.Embedding`.
 * Parameter `weight` [numEmbeddings, dim], init N(0, 1).
 */
export class Embedding extends Module {
  readonly weight: tf.Variable;
  constructor(readonly numEmbeddings: number, readonly dim: number) {
    super();
    this.weight = this.registerParameter("weight", normal([numEmbeddings, dim]))!;
  }

  /** @param ids int32 indices of any shape → [...ids.shape, dim]. Out-of-range ids throw `ValueError`. */
  forward(ids: tf.Tensor): tf.Tensor {
    if (ids.dtype !== "int32") throw new ValueError(`Embedding expects int32 ids, got ${ids.dtype}`);
    const flat = ids.dataSync();
    for (const i of flat) {
      if (i < 0 || i >= this.numEmbeddings) throw new ValueError(`Embedding id ${i} out of range [0, ${this.numEmbeddings})`);
    }
    return gatherRows(this.weight, ids);
  }
}
