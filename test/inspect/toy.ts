import * as tf from "@tensorflow/tfjs";
import { LayerNorm, Linear, Module, ModuleList, ReLU } from "../../src/nn/index.js";

/** Pre-norm residual MLP block: x + fc2(relu(fc1(norm(x)))). Children named like a transformer FFN. */
export class ToyBlock extends Module {
  readonly norm: LayerNorm;
  readonly fc1: Linear;
  readonly act = this.registerModule("act", new ReLU());
  readonly fc2: Linear;
  constructor(d: number) {
    super();
    this.norm = this.registerModule("norm", new LayerNorm(d));
    this.fc1 = this.registerModule("fc1", new Linear(d, 2 * d));
    this.fc2 = this.registerModule("fc2", new Linear(2 * d, d));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(x, this.fc2.call(this.act.call(this.fc1.call(this.norm.call(x))))));
  }
}

/** [B, T, inDim] → embed → L toy blocks → head → [B, T, classes]. */
export class ToyNet extends Module {
  readonly embed: Linear;
  readonly blocks: ModuleList<ToyBlock>;
  readonly head: Linear;
  constructor(inDim = 3, d = 8, L = 4, classes = 5) {
    super();
    this.embed = this.registerModule("embed", new Linear(inDim, d));
    this.blocks = this.registerModule("blocks", new ModuleList(Array.from({ length: L }, () => new ToyBlock(d))));
    this.head = this.registerModule("head", new Linear(d, classes));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.head.call(this.blocks.items.reduce((h, b) => b.call(h), this.embed.call(x))));
  }
}
