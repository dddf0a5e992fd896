import type * as tf from "@tensorflow/tfjs";
import { elu, gelu, relu, selu, silu } from "./functional.js";
import { Module } from "./module.js";

/** `torch.nn.ELU(alpha)`. No parameters. */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return elu(x, this.alpha);
  }
}

/** `torch.nn.SELU`. */
export class SELU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return selu(x);
  }
}

/** `torch.nn.GELU(approximate)`: exact erf form by default, `"tanh"` for the approximation. */
export class GELU extends Module {
  constructor(readonly approximate: "none" | "tanh" = "none") {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return gelu(x, this.approximate);
  }
}

/** `torch.nn.SiLU`. */
export class SiLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return silu(x);
  }
}

/** `torch.nn.ReLU`. */
export class ReLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return relu(x);
  }
}
