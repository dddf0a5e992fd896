import * as tf from "@tensorflow/tfjs";
import type { WasmHeapBackend } from "./kernels.js";

/*
 * Fused exact GELU for the wasm backend: one pass forward, one pass backward,
 * in JS over the wasm heap, instead of ~5 forward and ~10 backward kernels
 * over the (largest) activations of a transformer's feed-forward block.
 */

const GELU = "NeurocodeGelu";
const GELU_GRAD = "NeurocodeGeluGrad";
let installed = false;

/**
 * erf(x) by Abramowitz & Stegun 7.1.26: absolute error ≤ 1.5e-7, about two
 * float32 ulps near 1, at the cost of one exp (a series would be exact but
 * many times slower on the largest activations).
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return x < 0 ? -y : y;
}

function geluKernel(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput(x.shape, "float32");
  const xs = backend.typedArrayFromHeap(x);
  const ys = backend.typedArrayFromHeap(out);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    ys[i] = 0.5 * v * (1 + erf(v * Math.SQRT1_2));
  }
  return out;
}

function geluGradKernel(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo {
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput(x.shape, "float32");
  const xs = backend.typedArrayFromHeap(x);
  const gs = backend.typedArrayFromHeap(dy);
  const ds = backend.typedArrayFromHeap(out);
  const k = 1 / Math.sqrt(2 * Math.PI);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    ds[i] = gs[i]! * (0.5 * (1 + erf(v * Math.SQRT1_2)) + v * k * Math.exp(-0.5 * v * v));
  }
  return out;
}

/** Registers the fused GELU kernels and gradient on the wasm backend (idempotent). */
export function installFusedKernels(): void {
  if (installed || !tf.findBackend("wasm")) return;
  installed = true;
  tf.registerKernel({ kernelName: GELU, backendName: "wasm", kernelFunc: geluKernel });
  tf.registerKernel({ kernelName: GELU_GRAD, backendName: "wasm", kernelFunc: geluGradKernel });
  tf.registerGradient({
    kernelName: GELU,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => tf.engine().runKernel(GELU_GRAD, { dy: dy as tf.Tensor, x: saved[0]! }) as tf.Tensor }),
  });
}

/**
 * Exact GELU x·Φ(x) as one fused kernel when the active backend is wasm,
 * else `undefined` (callers then compose it from tfjs ops).
 */
export function fusedGelu(x: tf.Tensor): tf.Tensor | undefined {
  if (!installed || tf.getBackend() !== "wasm" || x.dtype !== "float32") return undefined;
  return tf.engine().runKernel(GELU, { x }) as tf.Tensor;
}
