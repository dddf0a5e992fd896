import * as tf from "@tensorflow/tfjs";
import type { WasmHeapBackend } from "./kernels.js";
import { backendMemory, geluSimd, type GeluSimd, type SimdBackend } from "./simd.js";
import { rowKernels, type RowBackend } from "./simd-rows.js";

/*
 * Fused passes for the wasm backend: work that autodiff spreads over 5-20
 * kernels becomes one JS pass over the wasm heap:
 * - exact GELU, on the feed-forward block's activations (a transformer's
 *   largest tensors): one forward pass yields the value and the derivative,
 *   so the backward pass is a single product (forward + backward on
 *   [2048, 512]: 19 ms as erf kernel + fused backward with its own exp,
 *   8.5 ms now, the forward in WebAssembly SIMD, simd.ts);
 * - affine LayerNorm (backward).
 * The Adam/AdamW update is fused too: op by op it is ~12 elementwise kernels
 * per parameter, a sixth of a small transformer's training step.
 */

const GELU = "NeurocodeGelu";
let installed = false;

/*
 * Exact GELU in one pass that also stores its derivative, so the backward
 * pass is one product dy·GELU'(x). Φ(x) = ½·erfc(−x/√2), and for z = |x|/√2
 * erfc(z) = e^(−z²)·t·Q(t), t = 1/(1 + p·z): Q is a degree-10 polynomial
 * fitted to erfcx(z)/t (relative error 6.7e-9 over z ≥ 0; the fit is
 * test/reference/engine_gelu_erfc_fit.py). e^(−z²) = e^(−x²/2) is also the
 * normal density's exponential, so each element needs a single exp, here
 * 2^(k/8) from a table times a degree-4 Taylor series (relative error
 * < 1.4e-9; Math.exp costs twice as much). The errors are far below
 * float32's 6e-8. Everything runs in float64 and is rounded
 * once when stored: the values agree with tfjs's erf-based composite to
 * float32 rounding.
 */
const ERFC_P = 0.4 * Math.SQRT1_2; // p/√2: t = 1/(1 + ERFC_P·|x|)
const ERFC_Q = [
  0.2256758327065919, 0.2256760807976837, 0.20760805360638795, 0.17180234528151778, 0.11863412389677011, 0.08522815919526007,
  -0.04974414158160317, 0.14143546475282653, -0.238736198017055, 0.1419267049561826, -0.029506432300147854,
] as const;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
/** The same constants for the SIMD kernel (and its test). */
export const GELU_CONSTANTS = { erfcP: ERFC_P, erfcQ: ERFC_Q, invSqrt2Pi: INV_SQRT_2PI } as const;
/** exp(a) = 2^(k/8)·e^r with k = round(8a/ln 2) ≤ 0, |r| ≤ ln 2/16. */
const EXP_STEPS = 8 * Math.LOG2E;
const LN2_8_HI = 0.6931471803691238 / 8; // ln 2/8 split so k·LN2_8_HI is exact
const LN2_8_LO = 1.9082149292705877e-10 / 8;
/** Below this exponent e^a·|x| is under float32's smallest subnormal for every finite x. */
const EXP_MIN = -120;
const POW2_NEG_EIGHTHS = Float64Array.from({ length: Math.ceil(-EXP_MIN * EXP_STEPS) + 2 }, (_, j) => 2 ** (-j / 8));
/** Adding and subtracting 1.5·2^52 rounds a float64 of magnitude < 2^51 to an integer. */
const ROUND = 6755399441055744;

/** The SIMD kernel on the backend's memory (null: no SIMD or no memory object; the JS loop runs). */
let simdGelu: GeluSimd | null | undefined;

function geluKernel(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const backend = args.backend as unknown as WasmHeapBackend & SimdBackend;
  const yInfo = backend.makeOutput(x.shape, "float32");
  const dInfo = backend.makeOutput(x.shape, "float32");
  if (simdGelu === undefined) {
    const memory = backendMemory(backend);
    simdGelu = memory && geluSimd(memory, GELU_CONSTANTS);
  }
  // Heap views only after allocating: growing wasm memory detaches older views.
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const ys = backend.typedArrayFromHeap(yInfo) as Float32Array;
  const ds = backend.typedArrayFromHeap(dInfo) as Float32Array;
  // Whole blocks of four in SIMD (2.5x faster), the rest here.
  const blocks = simdGelu ? xs.length & ~3 : 0;
  if (blocks) {
    const [xOff, yOff, dOff] = [x, yInfo, dInfo].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number, number];
    simdGelu!(xOff, yOff, dOff, 4 * blocks);
  }
  const [q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, q10] = ERFC_Q;
  for (let i = blocks; i < xs.length; i++) {
    const v = xs[i]!;
    // e = exp(−v²/2)
    const a = Math.max(-0.5 * v * v, EXP_MIN);
    const k = a * EXP_STEPS - ROUND + ROUND;
    const r = a - k * LN2_8_HI - k * LN2_8_LO;
    const e = POW2_NEG_EIGHTHS[-k | 0]! * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24)))));
    // erfc(|v|/√2) = e·t·Q(t), Q by Estrin's scheme (short dependency chains)
    const t = 1 / (1 + ERFC_P * Math.abs(v));
    const t2 = t * t;
    const t4 = t2 * t2;
    const q = q0 + q1 * t + t2 * (q2 + q3 * t) + t4 * (q4 + q5 * t + t2 * (q6 + q7 * t)) + t4 * t4 * (q8 + q9 * t + t2 * q10);
    const tail = 0.5 * e * t * q; // Φ(−|v|)
    // Φ(v) = tail for v < 0, 1 − tail for v > 0, by sign arithmetic: random signs
    // would mispredict a branch, and Math.sign is not inlined (both ~1.5x slower)
    const s = +(v > 0) - +(v < 0);
    const phi = 0.5 * (1 + s) - s * tail;
    ys[i] = v * phi;
    ds[i] = phi + v * INV_SQRT_2PI * e;
  }
  return [yInfo, dInfo];
}

/** x·Φ(x) = ½x(1 + erf(x/√2)) from tfjs ops. */
function geluComposite(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

const geluFused = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [y, d] = tf.engine().runKernel(GELU, { x: args[0] as tf.Tensor }) as unknown as [tf.Tensor, tf.Tensor];
  (args[1] as tf.GradSaveFunc)([d]);
  return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
});

/** Registers the fused backward kernels (GELU, LayerNorm) on the wasm backend (idempotent). */
export function installFusedKernels(): void {
  if (installed || !tf.findBackend("wasm")) return;
  installed = true;
  tf.registerKernel({ kernelName: GELU, backendName: "wasm", kernelFunc: geluKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: LN_GRAD, backendName: "wasm", kernelFunc: layerNormGradKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: ADAM_STEP, backendName: "wasm", kernelFunc: adamStepKernel as unknown as tf.KernelFunc });
}

/**
 * Exact GELU x·Φ(x) (`torch.nn.functional.gelu`). On wasm one fused kernel
 * computes it and its derivative, and the gradient is dy times that
 * derivative; elsewhere plain tfjs ops.
 */
export function geluExact(x: tf.Tensor): tf.Tensor {
  if (!installed || tf.getBackend() !== "wasm" || x.dtype !== "float32") return geluComposite(x);
  return geluFused(x) as tf.Tensor;
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
 * Blocks of four run in WebAssembly SIMD with the same operations (bit for bit).
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
  // Whole blocks of four in SIMD (simd-rows.ts: the same float64 operations, 3x faster), the rest here.
  const simd = rowKernels(backend as unknown as RowBackend);
  const blocks = simd ? ps.length & ~3 : 0;
  if (blocks) {
    const offs = [p, g, m, v, ...outs].map((t) => (backend as unknown as RowBackend).getMemoryOffset(t.dataId));
    simd!.adam(...offs, 4 * blocks, l2, b1, c1, b2, c2, decay, invBc2, a.eps, stepSize);
  }
  for (let i = blocks; i < ps.length; i++) {
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
