import * as tf from "@tensorflow/tfjs";
import type { WasmHeapBackend } from "./kernels.js";
import { keptOperandId, productThreads, viewProduct, type WasmBackend } from "./matmul.js";
import { backendMemory, type SimdBackend } from "./simd.js";
import { ConstantLocals, F32X4, f32Math, load, store } from "./simd-f32.js";
import { forLoop, get, I32S, instantiate, op, set, uleb, vec, type Code } from "./wasm-asm.js";

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
 * ulps (simd-f32.ts), so results agree with the tfjs path to ~1e-7.
 * No gradient: training keeps the op-by-op path.
 */

const KERNEL = "NeurocodeLstmLayer";
const I32 = 0x7f;
const V128_T = 0x7b;
const f = (o: number): Code => op(o);

/**
 * The cell pass `(xw, xwRow, hw, c, h, out, outRow, rows, hBytes, bih, bhh)`: for each of
 * `rows` rows, gates = ((xw[row] + bih) + bhh) + hw[row] (4 blocks of hBytes: i, f, g, o;
 * the adds in nn/lstm's order),
 * c ← σ(f)·c + σ(i)·tanh(g), h ← σ(o)·tanh(c), stored to c, h and out[row].
 * Row strides: xw xwRow bytes, hw 4·hBytes, c and h hBytes, out outRow bytes.
 */
function cellFunction(): Code {
  const [XW, XWROW, HW, C, H, OUT, OUTROW, ROWS, HB, BIH, BHH] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [N, J, XR, HR, CR, HH, OR, HB2, HB3, XA, HA, BA, BB] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];
  const [GI, GF, GG, GO, SI, SF, TG, SO, A, K, R, E, X, X2, CN] = Array.from({ length: 15 }, (_, i) => 24 + i) as number[];
  const i32add = (a: number, b: number): Code => [...get(a), ...get(b), 0x6a];
  const i32mul = (a: number, b: number): Code => [...get(a), ...get(b), 0x6c];

  const konst = new ConstantLocals(39);
  const { sigmoid, tanh } = f32Math({ a: A!, k: K!, r: R!, e: E!, x2: X2! }, konst);
  const gate = (k: number, to: number): Code => {
    const off: Code = k === 0 ? [] : [...get(k === 1 ? HB : k === 2 ? HB2 : HB3), 0x6a];
    const at = (base: number): Code => [...get(base), ...off, ...load];
    return [...at(XA), ...at(BA), ...f(F32X4.add), ...at(BB), ...f(F32X4.add), ...at(HA), ...f(F32X4.add), ...set(to)];
  };
  const block: Code = [
    ...i32add(XR, J), ...set(XA), ...i32add(HR, J), ...set(HA), ...i32add(BIH, J), ...set(BA), ...i32add(BHH, J), ...set(BB),
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
    ...vec([[...uleb(13), I32], [...uleb(15 + konst.count), V128_T]]),
    ...konst.init(),
    ...i32add(HB, HB), ...set(HB2), ...i32add(HB2, HB), ...set(HB3),
    ...forLoop(N, ROWS, 1, row),
    0x0b,
  ];
}

type CellSimd = (xw: number, xwRow: number, hw: number, c: number, h: number, out: number, outRow: number, rows: number, hBytes: number, bih: number, bhh: number) => void;

/** The cell pass on the backend's memory: undefined until first asked, null without SIMD. */
let cell: CellSimd | null | undefined;

function cellKernel(backend: SimdBackend): CellSimd | null {
  if (cell === undefined) {
    const memory = backendMemory(backend);
    cell = memory && instantiate<CellSimd>(memory, I32S(11), cellFunction());
  }
  return cell;
}

type Backend = WasmBackend & WasmHeapBackend & SimdBackend;

function lstmLayerKernel(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo {
  const { xw, whhT, bias } = args.inputs as { xw: tf.TensorInfo; whhT: tf.TensorInfo; bias: tf.TensorInfo };
  const backend = args.backend as unknown as Backend;
  const [N, T, G] = xw.shape as [number, number, number];
  const H = G / 4;
  const out = backend.makeOutput([N, T, H], "float32");
  // Scratch: hw [N, 4H], c [N, H], h [N, H], all starting at zero (h₀ = c₀ = 0, and h₀·W = 0).
  const scratch = backend.makeOutput([N * (G + 2 * H)], "float32");
  try {
    (backend.typedArrayFromHeap(scratch) as Float32Array).fill(0);
    const [xwOff, wOff, bOff, outOff, hwOff] = [xw, whhT, bias, out, scratch].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number, number, number, number];
    const cOff = hwOff + 4 * N * G;
    const hOff = cOff + 4 * N * H;
    const run = cellKernel(backend)!;
    const bId = keptOperandId(backend, whhT.dataId, H, G, wOff);
    for (let t = 0; t < T; t++) {
      if (t > 0) productThreads(N * H * G, () => viewProduct(backend, hOff, wOff, hwOff, N, H, G, bId));
      run(xwOff + 4 * t * G, 4 * T * G, hwOff, cOff, hOff, outOff + 4 * t * H, 4 * T * H, N, 4 * H, bOff, bOff + 4 * G);
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
 * @param xw input projections x·W_ihᵀ [N, T, 4H] (gate order i, f, g, o)
 * @param whhT recurrent weight transposed [H, 4H] (a kept tensor: its packing is reused)
 * @param bias b_ih and b_hh stacked [2, 4H] (zeros for a layer without biases)
 * @returns h for every step [N, T, H], or null where the kernel is unavailable
 *   (`lstmFusable` false, xw not float32 [N, T, 4H]): use the tfjs ops then.
 */
export function lstmLayerFused(xw: tf.Tensor, whhT: tf.Tensor, bias: tf.Tensor): tf.Tensor | null {
  const G = whhT.shape[1]!;
  if (!lstmFusable(whhT) || xw.dtype !== "float32" || xw.rank !== 3 || xw.shape[2] !== G || bias.dtype !== "float32" || bias.size !== 2 * G) return null;
  if (!registered) {
    registered = true;
    tf.registerKernel({ kernelName: KERNEL, backendName: "wasm", kernelFunc: lstmLayerKernel as unknown as tf.KernelFunc });
  }
  return tf.engine().runKernel(KERNEL, { xw, whhT, bias }) as tf.Tensor;
}
