/*
 * Row kernels in WebAssembly SIMD on the wasm backend's memory, for the JS
 * loops that a mixture of experts runs once per step over [tokens·k, d] rows
 * and the optimiser over every parameter: column sums (bias gradients), a
 * gated row sum and its two gradients (the MoE combine), and the Adam update.
 *
 * Each reproduces its JS loop bit for bit: the same float64 operations in the
 * same order per output value, with float32 values widened exactly and each
 * result rounded once when stored. SIMD lanes only hold independent outputs
 * (different columns, or two different assignments' dot products), never two
 * parts of one sum.
 */
import type { WasmHeapBackend } from "./kernels.js";
import { backendMemory, type SimdBackend } from "./simd.js";
import { demoteJoin, F64X2, forLoop, get, highHalf, HIGHS, I32S, instantiate, LOWS, lowHalf, op, set, SHUFFLE, splat, uleb, V128_LOAD, V128_STORE, vec, type Code } from "./wasm-asm.js";

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;
const F64X2_SPLAT = 0x14;
const F64X2_SQRT = 0xef;
const F32X4_SPLAT = 0x13;
const F32X4_MUL = 0xe6;
const F64X2_EXTRACT = 0x21;
/** Scalar opcodes. */
const I32_LOAD = 0x28;
const F32_LOAD = 0x2a;
const F32_STORE = 0x38;
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const F64_PROMOTE_F32 = 0xbb;
const F32_DEMOTE_F64 = 0xb6;

/** memarg: alignment exponent and constant byte offset. */
const at = (align: number, offset: number): Code => [align, ...uleb(offset)];
const load = (offset = 0): Code => [...op(V128_LOAD), ...at(2, offset)];
const store = (offset = 0): Code => [...op(V128_STORE), ...at(2, offset)];
const add = (a: number, b: number): Code => [...get(a), ...get(b), I32_ADD];
/** f64 lane 0 of each of two vectors, and lane 1 of each. */
const [LANE0S, LANE1S] = [LOWS, HIGHS];
const f64x2 = (o: number): Code => op(o);
const locals = (i32s: number, v128s: number): Code => vec([[...uleb(i32s), I32], [...uleb(v128s), V128]]);

/**
 * `(src, dst, rows, colBytes, rowBytes)`: dst[j] = Σ_r src[r·rowBytes + 4j] in
 * float64, row after row, rounded once; `width` columns per pass (16 or 4),
 * colBytes a multiple of 4·width.
 */
function columnSums(width: number): Code {
  const [SRC, DST, ROWS, COLB, ROWB] = [0, 1, 2, 3, 4];
  const [C, R, P] = [5, 6, 7];
  const X = 8;
  const ACC = 9; // 2 per 4 columns
  const n = width / 4;
  const row: Code = [];
  for (let q = 0; q < n; q++) {
    row.push(...get(P), ...load(16 * q), ...set(X));
    row.push(...get(ACC + 2 * q), ...lowHalf(X), ...f64x2(F64X2.add), ...set(ACC + 2 * q));
    row.push(...get(ACC + 2 * q + 1), ...highHalf(X), ...f64x2(F64X2.add), ...set(ACC + 2 * q + 1));
  }
  row.push(...add(P, ROWB), ...set(P));
  const block: Code = [];
  for (let q = 0; q < 2 * n; q++) block.push(...splat(0), ...set(ACC + q));
  block.push(...add(SRC, C), ...set(P), ...forLoop(R, ROWS, 1, row));
  for (let q = 0; q < n; q++) block.push(...add(DST, C), ...demoteJoin(ACC + 2 * q, ACC + 2 * q + 1), ...store(16 * q));
  return [...locals(3, 1 + 2 * n), ...forLoop(C, COLB, 4 * width, block), 0x0b];
}

/**
 * `(list, n, rowBytes)`: for each of n entries [dst, src, w] (byte addresses,
 * float32 weight) in order, row dst ← dst + w·src in float64 rounded once
 * (`accumulate`), or ← w·src as a float32 product. rowBytes a multiple of 16.
 */
function weightedRows(accumulate: boolean): Code {
  const [LIST, N, RB] = [0, 1, 2];
  const [E, C, D, S] = [3, 4, 5, 6];
  const [W, Y, X, LO, HI] = [7, 8, 9, 10, 11];
  const entry = (offset: number, opcode: number): Code => [...get(LIST), ...get(E), 0x41, 12, I32_MUL, I32_ADD, opcode, ...at(2, offset)];
  const inner: Code = accumulate
    ? [
        ...add(D, C), ...load(), ...set(Y),
        ...add(S, C), ...load(), ...set(X),
        ...lowHalf(Y), ...get(W), ...lowHalf(X), ...f64x2(F64X2.mul), ...f64x2(F64X2.add), ...set(LO),
        ...highHalf(Y), ...get(W), ...highHalf(X), ...f64x2(F64X2.mul), ...f64x2(F64X2.add), ...set(HI),
        ...add(D, C), ...demoteJoin(LO, HI), ...store(),
      ]
    : [...add(D, C), ...get(W), ...add(S, C), ...load(), ...op(F32X4_MUL), ...store()];
  const body: Code = [
    ...entry(0, I32_LOAD), ...set(D),
    ...entry(4, I32_LOAD), ...set(S),
    ...entry(8, F32_LOAD), ...(accumulate ? [F64_PROMOTE_F32, ...op(F64X2_SPLAT)] : op(F32X4_SPLAT)), ...set(W),
    ...forLoop(C, RB, 16, inner),
  ];
  return [...locals(4, 5), ...forLoop(E, N, 1, body), 0x0b];
}

/**
 * `(list, n, rowBytes)`: for each of n entries [gA, rA, gB, rB, oA, oB] (byte
 * addresses), the float32 at oA ← Σ_i gA[i]·rA[i] and at oB ← Σ_i gB[i]·rB[i],
 * each summed in float64 from i = 0 up (the two sums in the two lanes).
 */
function dotPairs(): Code {
  const [LIST, N, RB] = [0, 1, 2];
  const [E, C, BASE] = [3, 4, 5];
  const [GA, RA, GB, RB2, OA, OB] = [6, 7, 8, 9, 10, 11];
  const [ACC, XGA, XRA, XGB, XRB, PA, PB] = [12, 13, 14, 15, 16, 17, 18];
  const field = (i: number, to: number): Code => [...get(BASE), I32_LOAD, ...at(2, 4 * i), ...set(to)];
  // Lane 0 sums A, lane 1 sums B: products i, i+1 of both, then lane 0s and lane 1s added in turn.
  const half = (h: (x: number) => Code): Code => [
    ...h(XGA), ...h(XRA), ...f64x2(F64X2.mul), ...set(PA),
    ...h(XGB), ...h(XRB), ...f64x2(F64X2.mul), ...set(PB),
    ...get(ACC), ...get(PA), ...get(PB), ...op(SHUFFLE), ...LANE0S, ...f64x2(F64X2.add), ...set(ACC),
    ...get(ACC), ...get(PA), ...get(PB), ...op(SHUFFLE), ...LANE1S, ...f64x2(F64X2.add), ...set(ACC),
  ];
  const inner: Code = [
    ...add(GA, C), ...load(), ...set(XGA),
    ...add(RA, C), ...load(), ...set(XRA),
    ...add(GB, C), ...load(), ...set(XGB),
    ...add(RB2, C), ...load(), ...set(XRB),
    ...half(lowHalf), ...half(highHalf),
  ];
  const body: Code = [
    ...get(LIST), ...get(E), 0x41, 24, I32_MUL, I32_ADD, ...set(BASE),
    ...field(0, GA), ...field(1, RA), ...field(2, GB), ...field(3, RB2), ...field(4, OA), ...field(5, OB),
    ...splat(0), ...set(ACC),
    ...forLoop(C, RB, 16, inner),
    ...get(OA), ...get(ACC), ...op(F64X2_EXTRACT), 0, F32_DEMOTE_F64, F32_STORE, ...at(2, 0),
    ...get(OB), ...get(ACC), ...op(F64X2_EXTRACT), 1, F32_DEMOTE_F64, F32_STORE, ...at(2, 0),
  ];
  return [...locals(9, 7), ...forLoop(E, N, 1, body), 0x0b];
}

/**
 * `(p, g, m, v, pOut, mOut, vOut, bytes, l2, b1, c1, b2, c2, decay, invBc2, eps, stepSize)`:
 * the Adam step of `adamStepKernel` (engine/fused.ts) per float32, in float64:
 * g' = g + p·l2; m' = m·b1 + g'·c1; v' = v·b2 + g'·g'·c2;
 * p' = p·decay − (m' / (√v'·invBc2 + eps))·stepSize. bytes a multiple of 16.
 */
function adamStep(): Code {
  const [P, G, M, V, PO, MO, VO, BYTES] = [0, 1, 2, 3, 4, 5, 6, 7];
  const F = (i: number): number => 8 + i; // f64 params: l2, b1, c1, b2, c2, decay, invBc2, eps, stepSize
  const I = 17;
  const [XP, XG, XM, XV] = [18, 19, 20, 21];
  const K = (i: number): number => 22 + i; // the nine params, splatted
  const [GI, MI, VI] = [31, 32, 33];
  const [PL, ML, VL, PH, MH, VH] = [34, 35, 36, 37, 38, 39];
  const [L2, B1, C1, B2, C2, DECAY, INVBC2, EPS, STEP] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(K) as number[];
  const f = (o: number): Code => f64x2(o);
  const half = (h: (x: number) => Code, po: number, mo: number, vo: number): Code => [
    ...h(XG), ...h(XP), ...get(L2!), ...f(F64X2.mul), ...f(F64X2.add), ...set(GI),
    ...h(XM), ...get(B1!), ...f(F64X2.mul), ...get(GI), ...get(C1!), ...f(F64X2.mul), ...f(F64X2.add), ...set(MI),
    ...h(XV), ...get(B2!), ...f(F64X2.mul), ...get(GI), ...get(GI), ...f(F64X2.mul), ...get(C2!), ...f(F64X2.mul), ...f(F64X2.add), ...set(VI),
    ...get(MI), ...set(mo), ...get(VI), ...set(vo),
    ...h(XP), ...get(DECAY!), ...f(F64X2.mul),
    ...get(MI), ...get(VI), ...op(F64X2_SQRT), ...get(INVBC2!), ...f(F64X2.mul), ...get(EPS!), ...f(F64X2.add), ...f(F64X2.div),
    ...get(STEP!), ...f(F64X2.mul), ...f(F64X2.sub), ...set(po),
  ];
  const body: Code = [
    ...add(P, I), ...load(), ...set(XP),
    ...add(G, I), ...load(), ...set(XG),
    ...add(M, I), ...load(), ...set(XM),
    ...add(V, I), ...load(), ...set(XV),
    ...half(lowHalf, PL, ML, VL),
    ...half(highHalf, PH, MH, VH),
    ...add(PO, I), ...demoteJoin(PL, PH), ...store(),
    ...add(MO, I), ...demoteJoin(ML, MH), ...store(),
    ...add(VO, I), ...demoteJoin(VL, VH), ...store(),
  ];
  const splats: Code = [];
  for (let i = 0; i < 9; i++) splats.push(...get(F(i)), ...op(F64X2_SPLAT), ...set(K(i)));
  return [...vec([[1, I32], [...uleb(22), V128]]), ...splats, ...forLoop(I, BYTES, 16, body), 0x0b];
}

/** `(src, dst, rows, colBytes, rowBytes)`, see `columnSums`. */
export type ColumnSumsSimd = (src: number, dst: number, rows: number, colBytes: number, rowBytes: number) => void;
/** `(list, n, rowBytes)`, see `weightedRows`. */
export type ListSimd = (list: number, n: number, rowBytes: number) => void;
/** `(p, g, m, v, pOut, mOut, vOut, bytes, l2, b1, c1, b2, c2, decay, invBc2, eps, stepSize)`. */
export type AdamSimd = (...args: number[]) => void;

/** The row kernels on one backend memory (null members: SIMD unavailable). */
export interface RowKernels {
  sums16: ColumnSumsSimd;
  sums4: ColumnSumsSimd;
  /** Entries [dst, src, w]: dst += w·src (float64, rounded once). */
  axpy: ListSimd;
  /** Entries [dst, src, w]: dst = w·src (float32 product). */
  scale: ListSimd;
  /** Entries [gA, rA, gB, rB, oA, oB]: two dot products. */
  dots: ListSimd;
  adam: AdamSimd;
}

let kernels: RowKernels | null | undefined;

/** The kernels on the wasm backend's memory, built once; null without SIMD. */
export function rowKernels(backend: SimdBackend): RowKernels | null {
  if (kernels !== undefined) return kernels;
  const memory = backendMemory(backend);
  if (!memory) return (kernels = null);
  const built = {
    sums16: instantiate<ColumnSumsSimd>(memory, I32S(5), columnSums(16)),
    sums4: instantiate<ColumnSumsSimd>(memory, I32S(5), columnSums(4)),
    axpy: instantiate<ListSimd>(memory, I32S(3), weightedRows(true)),
    scale: instantiate<ListSimd>(memory, I32S(3), weightedRows(false)),
    dots: instantiate<ListSimd>(memory, I32S(3), dotPairs()),
    adam: instantiate<AdamSimd>(memory, [...I32S(8), ...new Array<number>(9).fill(F64)], adamStep()),
  };
  kernels = Object.values(built).every((k) => k !== null) ? (built as RowKernels) : null;
  return kernels;
}

/** The wasm backend as the heap helpers below need it. */
export type RowBackend = SimdBackend & WasmHeapBackend;

/**
 * Runs `fn` on a scratch block of `words` 32-bit words on the wasm heap (for
 * kernel argument lists), given as int32 and float32 views and its byte
 * offset; freed afterwards. Allocate it last: growing the heap detaches views.
 */
export function withScratch<T>(backend: RowBackend, words: number, fn: (ints: Int32Array, floats: Float32Array, offset: number) => T): T {
  const info = backend.makeOutput([Math.max(1, words)], "int32");
  try {
    const ints = backend.typedArrayFromHeap(info) as Int32Array;
    return fn(ints, new Float32Array(ints.buffer, ints.byteOffset, ints.length), backend.getMemoryOffset(info.dataId));
  } finally {
    backend.disposeData(info.dataId);
  }
}
