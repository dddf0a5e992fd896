import * as tf from "@tensorflow/tfjs";
import type { WasmHeapBackend } from "./kernels.js";

/*
 * Fused backward passes for the wasm backend. Forwards stay on wasm kernels
 * (their erf/exp beat JS loops); backwards that autodiff spreads over 10-20
 * kernels become one JS pass over the wasm heap:
 * - exact GELU, on the feed-forward block's activations (a transformer's
 *   largest tensors); forward + backward on [2048, 512] went 334 → 184 ms
 *   with a JS erf, less now that the forward's erf is reused (load-noisy);
 * - affine LayerNorm.
 * The Adam/AdamW update is fused too: op by op it is ~12 elementwise kernels
 * per parameter, a sixth of a small transformer's training step.
 */

const GELU_GRAD = "NeurocodeGeluGrad";
let installed = false;

function geluGradKernel(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo {
  const { dy, x, e } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; e: tf.TensorInfo };
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput(x.shape, "float32");
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const es = backend.typedArrayFromHeap(e) as Float32Array;
  const gs = backend.typedArrayFromHeap(dy) as Float32Array;
  const ds = backend.typedArrayFromHeap(out) as Float32Array;
  const k = 1 / Math.sqrt(2 * Math.PI);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    // d/dx x·Φ(x) = Φ(x) + x·φ(x), with Φ = ½(1 + erf(x/√2)) saved by the forward pass.
    ds[i] = gs[i]! * (0.5 * (1 + es[i]!) + v * k * Math.exp(-0.5 * v * v));
  }
  return out;
}

/** x·Φ(x) = ½x(1 + erf(x/√2)) from tfjs ops. */
function geluComposite(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

const geluFusedBackward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  const e = tf.erf(tf.mul(x, Math.SQRT1_2));
  (args[1] as tf.GradSaveFunc)([x, e]);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(e, 1)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel(GELU_GRAD, { dy, x: saved[0]!, e: saved[1]! }) as tf.Tensor,
  };
});

/** Registers the fused backward kernels (GELU, LayerNorm) on the wasm backend (idempotent). */
export function installFusedKernels(): void {
  if (installed || !tf.findBackend("wasm")) return;
  installed = true;
  tf.registerKernel({ kernelName: GELU_GRAD, backendName: "wasm", kernelFunc: geluGradKernel });
  tf.registerKernel({ kernelName: LN_GRAD, backendName: "wasm", kernelFunc: layerNormGradKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: ADAM_STEP, backendName: "wasm", kernelFunc: adamStepKernel as unknown as tf.KernelFunc });
}

/**
 * Exact GELU x·Φ(x) (`torch.nn.functional.gelu`). On wasm its gradient is
 * one fused kernel; elsewhere plain tfjs ops.
 */
export function geluExact(x: tf.Tensor): tf.Tensor {
  if (!installed || tf.getBackend() !== "wasm" || x.dtype !== "float32") return geluComposite(x);
  return geluFusedBackward(x) as tf.Tensor;
}

const LN_GRAD = "NeurocodeLayerNormGrad";

/**
 * LayerNorm backward over rows of length D, in one pass per row:
 * x̂ = (x − μ)·r, g = dy·w, dx = r·(g − mean(g) − x̂·mean(g·x̂)),
 * dw = Σ_rows dy·x̂, db = Σ_rows dy.
 */
function layerNormGradKernel(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo[] {
  const { dy, x, mean, rstd, w } = args.inputs as Record<string, tf.TensorInfo>;
  const backend = args.backend as unknown as WasmHeapBackend;
  const D = x!.shape[x!.shape.length - 1]!;
  const dxInfo = backend.makeOutput(x!.shape, "float32");
  const dwInfo = backend.makeOutput([D], "float32");
  const dbInfo = backend.makeOutput([D], "float32");
  const xs = backend.typedArrayFromHeap(x!) as Float32Array;
  const gs = backend.typedArrayFromHeap(dy!) as Float32Array;
  const ms = backend.typedArrayFromHeap(mean!) as Float32Array;
  const rs = backend.typedArrayFromHeap(rstd!) as Float32Array;
  const ws = backend.typedArrayFromHeap(w!) as Float32Array;
  const dx = backend.typedArrayFromHeap(dxInfo) as Float32Array;
  const dw = new Float64Array(D);
  const db = new Float64Array(D);
  const rows = xs.length / D;
  for (let r = 0; r < rows; r++) {
    const o = r * D;
    const mu = ms[r]!;
    const rstdR = rs[r]!;
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < D; j++) {
      const xh = (xs[o + j]! - mu) * rstdR;
      const g = gs[o + j]! * ws[j]!;
      sg += g;
      sgx += g * xh;
      dw[j] += gs[o + j]! * xh;
      db[j] += gs[o + j]!;
    }
    sg /= D;
    sgx /= D;
    for (let j = 0; j < D; j++) {
      const xh = (xs[o + j]! - mu) * rstdR;
      dx[o + j] = rstdR * (gs[o + j]! * ws[j]! - sg - xh * sgx);
    }
  }
  (backend.typedArrayFromHeap(dwInfo) as Float32Array).set(dw);
  (backend.typedArrayFromHeap(dbInfo) as Float32Array).set(db);
  return [dxInfo, dwInfo, dbInfo];
}

const layerNormFusedBackward = (eps: number) =>
  tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, b] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const { mean, variance } = tf.moments(x, -1, true);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const value = tf.add(tf.mul(tf.mul(tf.sub(x, mean), rstd), w), b);
    save([x, mean, rstd, w]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sm, sr, sw] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.engine().runKernel(LN_GRAD, { dy, x: sx, mean: sm, rstd: sr, w: sw }) as tf.Tensor[];
      },
    };
  });

const lnOps = new Map<number, ReturnType<typeof layerNormFusedBackward>>();

/**
 * `(x − mean)/√(var + eps)·w + b` over the last axis (biased variance), as
 * `torch.nn.functional.layer_norm`. On wasm the backward pass is one fused
 * kernel (≈20 tfjs kernels otherwise); elsewhere plain tfjs ops.
 * @param x [..., D] float32 @param w, b [D]
 */
export function layerNormAffine(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  if (!installed || tf.getBackend() !== "wasm" || x.dtype !== "float32") {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), w), b);
    });
  }
  let op = lnOps.get(eps);
  if (!op) lnOps.set(eps, (op = layerNormFusedBackward(eps)));
  return op(x, w, b) as tf.Tensor;
}

const ADAM_STEP = "NeurocodeAdamStep";

/** Hyper-parameters of one Adam/AdamW step (see `nn/optim.ts`). */
export interface AdamStepAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: decay the parameter (p·(1 − lr·λ)); Adam: add λp to the gradient. */
  decoupled: boolean;
  /** 1-based step number, for the bias corrections. */
  step: number;
}

/**
 * One Adam step in one pass: new parameter, first and second moments. The
 * arithmetic runs in float64 and rounds once per stored value, so it agrees
 * with the op-by-op float32 update (and with PyTorch's) to a few ulps;
 * rounding every intermediate the way the ops do made it twice as slow.
 */
function adamStepKernel(args: { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs: AdamStepAttrs }): tf.TensorInfo[] {
  const { p, g, m, v } = args.inputs as Record<"p" | "g" | "m" | "v", tf.TensorInfo>;
  const a = args.attrs;
  const backend = args.backend as WasmHeapBackend;
  const outs = [backend.makeOutput(p.shape, "float32"), backend.makeOutput(p.shape, "float32"), backend.makeOutput(p.shape, "float32")];
  const [ps, gs, ms, vs] = [p, g, m, v].map((t) => backend.typedArrayFromHeap(t) as Float32Array) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const [po, mo, vo] = outs.map((t) => backend.typedArrayFromHeap(t) as Float32Array) as [Float32Array, Float32Array, Float32Array];
  const decay = a.weightDecay && a.decoupled ? 1 - a.lr * a.weightDecay : 1;
  const l2 = a.weightDecay && !a.decoupled ? a.weightDecay : 0;
  const [b1, b2] = [a.beta1, a.beta2];
  const [c1, c2] = [1 - a.beta1, 1 - a.beta2];
  const invBc2 = 1 / Math.sqrt(1 - a.beta2 ** a.step);
  const stepSize = a.lr / (1 - a.beta1 ** a.step);
  for (let i = 0; i < ps.length; i++) {
    const pi = ps[i]!;
    const gi = gs[i]! + pi * l2;
    const mi = ms[i]! * b1 + gi * c1;
    const vi = vs[i]! * b2 + gi * gi * c2;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = pi * decay - (mi / (Math.sqrt(vi) * invBc2 + a.eps)) * stepSize;
  }
  return outs;
}

/**
 * The fused Adam step on the wasm backend: `[p', m', v']` for float32
 * parameter `p`, gradient `g` and moments `m`, `v` (all the same shape), or
 * `null` on other backends (the caller then uses tfjs ops).
 */
export function adamStepFused(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamStepAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (!installed || tf.getBackend() !== "wasm" || [p, g, m, v].some((t) => t.dtype !== "float32")) return null;
  return tf.engine().runKernel(ADAM_STEP, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
