import * as tf from "@tensorflow/tfjs";
import type { WasmHeapBackend } from "./kernels.js";
import { keptOperandId, productThreads, viewProduct, type WasmBackend } from "./matmul.js";
import { backendMemory, type SimdBackend } from "./simd.js";
import { forLoop, get, I32S, instantiate, op, set, uleb, V128, V128_LOAD, V128_STORE, vec, type Code } from "./wasm-asm.js";

/*
 * One LSTM layer's recurrence (inference) as a single kernel on the wasm
 * backend. Op by op, every time step costs a product, an add, a split, three
 * sigmoids, two tanhs, three multiplies and an add (12 kernels, 16 steps in a
 * 2-layer SEANet LSTM: ~190 kernel calls with their host overhead); here each
 * step is the same XNNPACK product (on heap views, the recurrent weight kept
 * packed) followed by one WebAssembly SIMD pass that adds the gates, applies
 * the nonlinearities and updates c and h in place.
 *
 * The adds and multiplies are the same float32 operations in the same order
 * as the op-by-op cell; σ and tanh are float32 approximations within a few
 * ulps (exp by range reduction and a degree-7 polynomial; tanh by its odd
 * series below |x| = 1/4), so results agree with the tfjs path to ~1e-7.
 * No gradient: training keeps the op-by-op path.
 */

const KERNEL = "NeurocodeLstmLayer";

const F32X4 = { add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7, min: 0xe8, max: 0xe9, abs: 0xe0, neg: 0xe1, lt: 0x43, nearest: 0x6a } as const;
const I32X4_TRUNC_SAT_F32X4_S = 0xf8;
const I32X4_ADD = 0xae;
const I32X4_SHL = 0xab;
const V128_CONST = 0x0c;
const BITSELECT = 0x52;
const I32 = 0x7f;
const V128_T = 0x7b;

/** `v128.const` with four float32 lanes `x`. */
const f32s = (x: number): Code => [...op(V128_CONST), ...new Uint8Array(new Float32Array([x, x, x, x]).buffer)];
/** `v128.const` with four int32 lanes `x`. */
const i32s = (x: number): Code => [...op(V128_CONST), ...new Uint8Array(new Int32Array([x, x, x, x]).buffer)];
const f = (o: number): Code => op(o);
const load: Code = [...op(V128_LOAD), 2, 0];
const store: Code = [...op(V128_STORE), 2, 0];

// exp(a) = 2^k·e^r, k = round(a/ln 2), r = a − k·ln 2 in two parts (Cody–Waite), e^r by Taylor to r⁷.
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
const EXP_LIMIT = 87;
const TANH_SERIES_BELOW = 0.25;

/**
 * The cell pass `(xw, xwRow, hw, c, h, out, outRow, rows, hBytes)`: for each of
 * `rows` rows, gates = xw[row] + hw[row] (4 blocks of hBytes: i, f, g, o),
 * c ← σ(f)·c + σ(i)·tanh(g), h ← σ(o)·tanh(c), stored to c, h and out[row].
 * Row strides: xw xwRow bytes, hw 4·hBytes, c and h hBytes, out outRow bytes.
 */
function cellFunction(): Code {
  const [XW, XWROW, HW, C, H, OUT, OUTROW, ROWS, HB] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [N, J, XR, HR, CR, HH, OR, HB2, HB3, XA, HA] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const [GI, GF, GG, GO, SI, SF, TG, SO, A, K, R, E, X, X2, CN] = Array.from({ length: 15 }, (_, i) => 20 + i) as number[];
  const i32add = (a: number, b: number): Code => [...get(a), ...get(b), 0x6a];
  const i32mul = (a: number, b: number): Code => [...get(a), ...get(b), 0x6c];

  /** e^A (A in [−87, 87]) on the stack; uses K, R. */
  const exp: Code = [
    ...get(A!), ...f32s(Math.LOG2E), ...f(F32X4.mul), ...f(F32X4.nearest), ...set(K!),
    ...get(A!), ...get(K!), ...f32s(LN2_HI), ...f(F32X4.mul), ...f(F32X4.sub), ...get(K!), ...f32s(LN2_LO), ...f(F32X4.mul), ...f(F32X4.sub), ...set(R!),
    ...f32s(1 / 5040),
    ...[1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1].flatMap((c) => [...get(R!), ...f(F32X4.mul), ...f32s(c), ...f(F32X4.add)]),
    // 2^k: (k + 127) << 23 as float32 bits
    ...get(K!), ...op(I32X4_TRUNC_SAT_F32X4_S), ...i32s(127), ...op(I32X4_ADD), 0x41, 23, ...op(I32X4_SHL),
    ...f(F32X4.mul),
  ];
  /** σ(x) = 1/(1 + e^−x) of local x on the stack. */
  const sigmoid = (x: number): Code => [
    ...get(x), ...f(F32X4.neg), ...f32s(EXP_LIMIT), ...f(F32X4.min), ...f32s(-EXP_LIMIT), ...f(F32X4.max), ...set(A!),
    ...f32s(1), ...f32s(1), ...exp, ...f(F32X4.add), ...f(F32X4.div),
  ];
  /**
   * tanh(x) of local x on the stack: (1 − e)/(1 + e) with e = e^−2|x|, sign
   * restored; below |x| = 1/4 the odd series x + x³(−1/3 + x²(2/15 + x²(−17/315 + x²·62/2835)))
   * (1 − e would cancel there).
   */
  const tanh = (x: number): Code => [
    ...get(x), ...f(F32X4.abs), ...f32s(-2), ...f(F32X4.mul), ...f32s(-EXP_LIMIT), ...f(F32X4.max), ...set(A!),
    ...exp, ...set(E!),
    ...get(x), ...get(x), ...f(F32X4.mul), ...set(X2!),
    // series
    ...get(x), ...get(x), ...get(X2!), ...f(F32X4.mul),
    ...f32s(62 / 2835), ...get(X2!), ...f(F32X4.mul), ...f32s(-17 / 315), ...f(F32X4.add),
    ...get(X2!), ...f(F32X4.mul), ...f32s(2 / 15), ...f(F32X4.add),
    ...get(X2!), ...f(F32X4.mul), ...f32s(-1 / 3), ...f(F32X4.add),
    ...f(F32X4.mul), ...f(F32X4.add),
    // (1 − e)/(1 + e) with x's sign bit
    ...f32s(1), ...get(E!), ...f(F32X4.sub), ...f32s(1), ...get(E!), ...f(F32X4.add), ...f(F32X4.div),
    ...get(x), ...i32s(-0x80000000), ...op(V128.and), ...op(V128.or),
    // pick the series where |x| < 1/4
    ...get(x), ...f(F32X4.abs), ...f32s(TANH_SERIES_BELOW), ...f(F32X4.lt), ...op(BITSELECT),
  ];
  const gate = (k: number, to: number): Code => {
    const off: Code = k === 0 ? [] : [...get(k === 1 ? HB : k === 2 ? HB2 : HB3), 0x6a];
    return [...get(XA), ...off, ...load, ...get(HA), ...off, ...load, ...f(F32X4.add), ...set(to)];
  };
  const block: Code = [
    ...i32add(XR, J), ...set(XA), ...i32add(HR, J), ...set(HA),
    ...gate(0, GI!), ...gate(1, GF!), ...gate(2, GG!), ...gate(3, GO!),
    ...sigmoid(GI!), ...set(SI!), ...sigmoid(GF!), ...set(SF!), ...tanh(GG!), ...set(TG!), ...sigmoid(GO!), ...set(SO!),
    // c' = σ(f)·c + σ(i)·tanh(g), stored; h = σ(o)·tanh(c')
    ...i32add(CR, J), ...get(SF!), ...i32add(CR, J), ...load, ...f(F32X4.mul), ...get(SI!), ...get(TG!), ...f(F32X4.mul), ...f(F32X4.add), ...set(CN!), ...get(CN!), ...store,
    ...get(SO!), ...tanh(CN!), ...f(F32X4.mul), ...set(X!),
    ...i32add(HH, J), ...get(X!), ...store,
    ...i32add(OR, J), ...get(X!), ...store,
  ];
  const row: Code = [
    ...get(XW), ...i32mul(N, XWROW), 0x6a, ...set(XR),
    ...get(HW), ...i32mul(N, HB), 0x41, 2, 0x74, 0x6a, ...set(HR), // hw + n·4·hBytes
    ...get(C), ...i32mul(N, HB), 0x6a, ...set(CR),
    ...get(H), ...i32mul(N, HB), 0x6a, ...set(HH),
    ...get(OUT), ...i32mul(N, OUTROW), 0x6a, ...set(OR),
    ...forLoop(J, HB, 16, block),
  ];
  return [
    ...vec([[...uleb(11), I32], [...uleb(15), V128_T]]),
    ...i32add(HB, HB), ...set(HB2), ...i32add(HB2, HB), ...set(HB3),
    ...forLoop(N, ROWS, 1, row),
    0x0b,
  ];
}

type CellSimd = (xw: number, xwRow: number, hw: number, c: number, h: number, out: number, outRow: number, rows: number, hBytes: number) => void;

/** The cell pass on the backend's memory: undefined until first asked, null without SIMD. */
let cell: CellSimd | null | undefined;

function cellKernel(backend: SimdBackend): CellSimd | null {
  if (cell === undefined) {
    const memory = backendMemory(backend);
    cell = memory && instantiate<CellSimd>(memory, I32S(9), cellFunction());
  }
  return cell;
}

type Backend = WasmBackend & WasmHeapBackend & SimdBackend;

function lstmLayerKernel(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo {
  const { xw, whhT } = args.inputs as { xw: tf.TensorInfo; whhT: tf.TensorInfo };
  const backend = args.backend as unknown as Backend;
  const [N, T, G] = xw.shape as [number, number, number];
  const H = G / 4;
  const out = backend.makeOutput([N, T, H], "float32");
  // Scratch: hw [N, 4H], c [N, H], h [N, H], all starting at zero (h₀ = c₀ = 0, and h₀·W = 0).
  const scratch = backend.makeOutput([N * (G + 2 * H)], "float32");
  try {
    (backend.typedArrayFromHeap(scratch) as Float32Array).fill(0);
    const [xwOff, wOff, outOff, hwOff] = [xw, whhT, out, scratch].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number, number, number];
    const cOff = hwOff + 4 * N * G;
    const hOff = cOff + 4 * N * H;
    const run = cellKernel(backend)!;
    const bId = keptOperandId(backend, whhT.dataId, H, G, wOff);
    for (let t = 0; t < T; t++) {
      if (t > 0) productThreads(N * H * G, () => viewProduct(backend, hOff, wOff, hwOff, N, H, G, bId));
      run(xwOff + 4 * t * G, 4 * T * G, hwOff, cOff, hOff, outOff + 4 * t * H, 4 * T * H, N, 4 * H);
    }
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return out;
}

let registered = false;

/** Whether `lstmLayerFused` runs for the recurrent weight `whhT` [H, 4H]: wasm with SIMD, float32, H a multiple of 4. */
export function lstmFusable(whhT: tf.Tensor): boolean {
  const [H, G] = whhT.shape as [number, number];
  return tf.getBackend() === "wasm" && whhT.dtype === "float32" && whhT.rank === 2 && H % 4 === 0 && G === 4 * H && cellKernel(tf.backend() as unknown as SimdBackend) !== null;
}

/**
 * One LSTM layer's hidden states for all steps, inference only, as one
 * kernel on the wasm backend (see above).
 * @param xw input projections with both biases [N, T, 4H] (gate order i, f, g, o)
 * @param whhT recurrent weight transposed [H, 4H] (a kept tensor: its packing is reused)
 * @returns h for every step [N, T, H], or null where the kernel is unavailable
 *   (`lstmFusable` false, xw not float32 [N, T, 4H]): use the tfjs ops then.
 */
export function lstmLayerFused(xw: tf.Tensor, whhT: tf.Tensor): tf.Tensor | null {
  if (!lstmFusable(whhT) || xw.dtype !== "float32" || xw.rank !== 3 || xw.shape[2] !== whhT.shape[1]) return null;
  if (!registered) {
    registered = true;
    tf.registerKernel({ kernelName: KERNEL, backendName: "wasm", kernelFunc: lstmLayerKernel as unknown as tf.KernelFunc });
  }
  return tf.engine().runKernel(KERNEL, { xw, whhT }) as tf.Tensor;
}
