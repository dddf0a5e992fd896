import * as tf from "@tensorflow/tfjs";
import { geluExact } from "../engine/fused.js";

/*
 * Stateless activation functions with PyTorch's exact formulas. Each is
 * differentiable with tfjs kernels available on every backend.
 */

/** `torch.nn.functional.elu`: x for x > 0, α·(eˣ − 1) otherwise. */
export function elu(x: tf.Tensor, alpha = 1): tf.Tensor {
  // relu(x) + α·expm1(min(x, 0)) equals ELU everywhere and, unlike a `where` on
  // a comparison, differentiates through kernels every backend has.
  return tf.tidy(() => (alpha === 1 ? tf.elu(x) : tf.add(tf.relu(x), tf.mul(tf.expm1(tf.minimum(x, 0)), alpha))));
}

/** `torch.nn.functional.selu` (α ≈ 1.6733, scale ≈ 1.0507). */
export function selu(x: tf.Tensor): tf.Tensor {
  return tf.selu(x);
}

/**
 * `torch.nn.functional.gelu`: exact `x·Φ(x) = ½x(1 + erf(x/√2))` by default,
 * or the tanh approximation `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` with `approximate = "tanh"`.
 * On wasm the exact form's gradient is one fused kernel (engine/fused.ts).
 */
export function gelu(x: tf.Tensor, approximate: "none" | "tanh" = "none"): tf.Tensor {
  return tf.tidy(() => {
    if (approximate === "tanh") {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    return geluExact(x);
  });
}

/** `torch.nn.functional.silu` (swish): x·σ(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** `torch.nn.functional.relu`. */
export function relu(x: tf.Tensor): tf.Tensor {
  return tf.relu(x);
}

/** The activations that layers accept by name. */
export type ActivationName = "relu" | "gelu" | "gelu_tanh" | "silu" | "elu" | "selu" | "tanh" | "sigmoid" | "identity";

/** Looks up an activation function by name. */
export function activation(name: ActivationName): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case "relu":
      return relu;
    case "gelu":
      return (x) => gelu(x);
    case "gelu_tanh":
      return (x) => gelu(x, "tanh");
    case "silu":
      return silu;
    case "elu":
      return (x) => elu(x);
    case "selu":
      return selu;
    case "tanh":
      return tf.tanh;
    case "sigmoid":
      return tf.sigmoid;
    case "identity":
      return (x) => x.clone();
  }
}
