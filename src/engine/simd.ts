/*
 * Elementwise kernels in WebAssembly SIMD, on the wasm backend's own memory.
 *
 * A JS loop over the heap does one float64 lane per instruction; a kernel
 * whose arithmetic dominates (GELU: an exp and a degree-10 polynomial per
 * element) runs ~5x faster as f64x2 SIMD. There is no compiler in the
 * toolchain, so this file assembles the few instructions it needs into a
 * module that imports the backend's memory, and instantiates it once.
 * Arithmetic is float64 throughout, rounded once per stored float32, like the
 * JS kernels it replaces.
 */

import { BITSELECT, demoteJoin, F64X2, forLoop, get, highHalf, I32S, I64X2_SHL, I64X2_SUB, instantiate, lowHalf, memarg, op, set, sleb, splat, transpose4, uleb, V128_LOAD, V128_STORE, vec, type Code, type WasmMemory } from "./wasm-asm.js";

/**
 * `(src, dst1, dst2, bytes)`: for each 4-float block of `bytes` bytes at byte
 * offset src, computes two float64 results per lane with `body` (which reads
 * local `v` and sets locals `r1`, `r2`) and stores them as float32 at dst1
 * and dst2. `bytes` must be a multiple of 16.
 */
function mapFunction(temps: number, body: (v: number, r1: number, r2: number, temp: (i: number) => number, konst: (x: number) => Code) => Code): Code {
  // Locals: params 0-3 (i32 src, dst1, dst2, bytes), 4 = byte index, then v128s.
  const [SRC, D1, D2, BYTES, I] = [0, 1, 2, 3, 4];
  const X4 = 5;
  const V = 6;
  const R1 = 7;
  const R2 = 8;
  const LO1 = 9;
  const LO2 = 10;
  const T0 = 11;
  const temp = (i: number): number => T0 + i;
  // Constant vectors live in locals set once before the loop, not rebuilt per element.
  const consts = new Map<number, number>();
  const konst = (x: number): Code => {
    if (!consts.has(x)) consts.set(x, T0 + temps + consts.size);
    return get(consts.get(x)!);
  };
  const addr = (base: number): Code => [...get(base), ...get(I), 0x6a]; // base + i
  const half = (promoted: Code): Code => [...promoted, ...set(V), ...body(V, R1, R2, temp, konst)];
  const loopBody: Code = [
    ...addr(SRC), ...op(V128_LOAD), ...memarg(2), ...set(X4),
    ...half(lowHalf(X4)),
    ...get(R1), ...set(LO1), ...get(R2), ...set(LO2),
    ...half(highHalf(X4)),
    // Both halves' float32 results into one vector each, then store.
    ...addr(D1), ...demoteJoin(LO1, R1), ...op(V128_STORE), ...memarg(2),
    ...addr(D2), ...demoteJoin(LO2, R2), ...op(V128_STORE), ...memarg(2),
  ];
  return [
    ...vec([[1, 0x7f], [...uleb(6 + temps + consts.size), 0x7b]]), // locals: i32 i; v128s
    ...[...consts].flatMap(([x, local]) => [...splat(x), ...set(local)]),
    ...forLoop(I, BYTES, 16, loopBody),
    0x0b,
  ];
}

/**
 * `(src, dst, batch, R, C, srcRow, srcBatch, dstRow, dstBatch)`: `batch`
 * [R, C] matrices of 4-byte elements at byte offset src (rows srcRow bytes
 * apart, matrices srcBatch bytes apart), transposed to [C, R] at dst (rows
 * dstRow bytes apart, matrices dstBatch apart), by 4×4 blocks (four row loads,
 * eight lane shuffles, four column stores), sixteen rows at a time so that each
 * output cache line is written whole. R must be a multiple of 16, C of 4.
 */
function transposeFunction(): Code {
  const [SRC, DST, BATCH, R, C, ROWB, SBATCH, COLB, DBATCH] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [B, I, J, P, Q, I0, IEND] = [9, 10, 11, 12, 13, 14, 15];
  const [R0, R1, R2, R3, T0, T1, T2, T3] = [16, 17, 18, 19, 20, 21, 22, 23];
  const { pairs, column } = transpose4([R0, R1, R2, R3], [T0, T1, T2, T3]);
  const plus = (base: number, stride: number, k: number): Code => [...get(base), ...get(stride), 0x41, ...sleb(k), 0x6c, 0x6a]; // base + k·stride
  const load = (row: number, k: number): Code => [...plus(P, ROWB, k), ...op(V128_LOAD), ...memarg(2), ...set(row)];
  const store = (k: number): Code => [...plus(Q, COLB, k), ...column(k), ...op(V128_STORE), ...memarg(2)];
  const block: Code = [
    // p = src + b·srcBatch + i·srcRow + 4j; q = dst + b·dstBatch + j·dstRow + 4i
    ...get(SRC), ...get(B), ...get(SBATCH), 0x6c, 0x6a, ...get(I), ...get(ROWB), 0x6c, 0x6a, ...get(J), 0x41, 2, 0x74, 0x6a, ...set(P),
    ...get(DST), ...get(B), ...get(DBATCH), 0x6c, 0x6a, ...get(J), ...get(COLB), 0x6c, 0x6a, ...get(I), 0x41, 2, 0x74, 0x6a, ...set(Q),
    ...load(R0, 0), ...load(R1, 1), ...load(R2, 2), ...load(R3, 3),
    ...pairs,
    ...store(0), ...store(1), ...store(2), ...store(3),
  ];
  const rows16 = [...get(I0), 0x41, 16, 0x6a, ...set(IEND), ...forLoop(I, IEND, 4, block, get(I0))];
  return [...vec([[7, 0x7f], [8, 0x7b]]), ...forLoop(B, BATCH, 1, forLoop(I0, R, 16, forLoop(J, C, 4, rows16))), 0x0b];
}

/**
 * `(src, dst, rows, cols, srcRow, dstRow, scale)`: copies `rows` rows of
 * `cols` float32 (a multiple of 4) from byte offset src (rows srcRow bytes
 * apart) to dst (dstRow apart), each times the float32 `scale` (one rounding,
 * as a float32 multiply).
 */
function rowCopyFunction(): Code {
  const [SRC, DST, ROWS, COLS, SROW, DROW, SCALE] = [0, 1, 2, 3, 4, 5, 6];
  const [R, C, BYTES] = [7, 8, 9];
  const S = 10;
  const F32X4_MUL = 0xe6;
  const F32X4_SPLAT = 0x13;
  const at = (base: number, stride: number): Code => [...get(base), ...get(R), ...get(stride), 0x6c, 0x6a, ...get(C), 0x6a];
  const body = [...at(DST, DROW), ...at(SRC, SROW), ...op(V128_LOAD), ...memarg(2), ...get(S), ...op(F32X4_MUL), ...op(V128_STORE), ...memarg(2)];
  return [
    ...vec([[3, 0x7f], [1, 0x7b]]),
    ...get(SCALE), ...op(F32X4_SPLAT), ...set(S),
    ...get(COLS), 0x41, 2, 0x74, ...set(BYTES),
    ...forLoop(R, ROWS, 1, forLoop(C, BYTES, 16, body)),
    0x0b,
  ];
}

/** GELU's constants, shared with the JS kernel in fused.ts (see there for their origin). */
export interface GeluConstants {
  erfcP: number;
  erfcQ: readonly number[];
  invSqrt2Pi: number;
}

const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
const TWO52 = 2 ** 52;

/**
 * Value and derivative of exact GELU per lane: y = v·Φ(v), d = Φ(v) + v·φ(v),
 * with erfc from e^(−v²/2)·t·Q(t) and e^a = 2^k·Σ_{j≤11} r^j/j! (|r| ≤ ln 2/2,
 * relative error < 1e-14).
 */
function geluBody(c: GeluConstants) {
  return (v: number, y: number, d: number, temp: (i: number) => number, splat: (x: number) => Code): Code => {
    const [A, K, P, E, T, Q, PHI, X2, X4, X8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(temp) as [number, number, number, number, number, number, number, number, number, number];
    const f = (o: number): Code => op(o);
    // Σ coef[j]·x^j by Estrin's scheme (pairs, then pairs of pairs by x², x⁴, x⁸):
    // short dependency chains, where Horner's would leave the SIMD units waiting.
    const powers = (x: number): Code => [...get(x), ...get(x), ...f(F64X2.mul), ...set(X2), ...get(X2), ...get(X2), ...f(F64X2.mul), ...set(X4), ...get(X4), ...get(X4), ...f(F64X2.mul), ...set(X8)];
    const estrin = (x: number, coef: readonly number[]): Code => {
      if (coef.length === 1) return splat(coef[0]!);
      if (coef.length === 2) return [...splat(coef[1]!), ...get(x), ...f(F64X2.mul), ...splat(coef[0]!), ...f(F64X2.add)];
      const m = 2 ** Math.floor(Math.log2(coef.length - 1));
      const pow = m === 2 ? X2 : m === 4 ? X4 : X8;
      return [...estrin(x, coef.slice(0, m)), ...estrin(x, coef.slice(m)), ...get(pow), ...f(F64X2.mul), ...f(F64X2.add)];
    };
    const taylor = Array.from({ length: 12 }, (_, j) => 1 / Array.from({ length: j }, (_, i) => i + 1).reduce((p, q) => p * q, 1));
    return [
      // a = max(−v²/2, −708); k = nearest(a/ln 2); r = a − k·ln 2 (two parts)
      ...get(v), ...get(v), ...f(F64X2.mul), ...splat(-0.5), ...f(F64X2.mul), ...splat(-708), ...f(F64X2.max), ...set(A),
      ...get(A), ...splat(Math.LOG2E), ...f(F64X2.mul), ...f(F64X2.nearest), ...set(K),
      ...get(A), ...get(K), ...splat(LN2_HI), ...f(F64X2.mul), ...f(F64X2.sub), ...get(K), ...splat(LN2_LO), ...f(F64X2.mul), ...f(F64X2.sub), ...set(A),
      ...powers(A), ...estrin(A, taylor), ...set(P),
      // 2^k: k + 1023 + 2^52 holds k + 1023 in its low mantissa bits; move them to the exponent.
      ...get(K), ...splat(1023 + TWO52), ...f(F64X2.add), ...splat(TWO52), ...f(I64X2_SUB), 0x41, ...sleb(52), ...f(I64X2_SHL),
      ...get(P), ...f(F64X2.mul), ...set(E),
      // t = 1/(1 + p·|v|); tail = ½·e·t·Q(t) = Φ(−|v|)
      ...splat(1), ...splat(1), ...get(v), ...f(F64X2.abs), ...splat(c.erfcP), ...f(F64X2.mul), ...f(F64X2.add), ...f(F64X2.div), ...set(T),
      ...powers(T), ...estrin(T, c.erfcQ), ...set(Q),
      ...get(E), ...get(T), ...f(F64X2.mul), ...get(Q), ...f(F64X2.mul), ...splat(0.5), ...f(F64X2.mul), ...set(Q),
      // Φ = tail where v < 0, else 1 − tail
      ...get(Q), ...splat(1), ...get(Q), ...f(F64X2.sub), ...get(v), ...splat(0), ...f(F64X2.lt), ...f(BITSELECT), ...set(PHI),
      ...get(v), ...get(PHI), ...f(F64X2.mul), ...set(y),
      ...get(PHI), ...get(v), ...splat(c.invSqrt2Pi), ...f(F64X2.mul), ...get(E), ...f(F64X2.mul), ...f(F64X2.add), ...set(d),
    ];
  };
}


/** The wasm backend as far as these kernels need it. */
export interface SimdBackend {
  wasm: { wasmMemory?: WasmMemory; asm?: { memory?: WasmMemory } };
  getMemoryOffset(dataId: object): number;
}

/** The backend's wasm memory: exposed by the threaded build, exported by the others. */
export function backendMemory(backend: SimdBackend): WasmMemory | null {
  return backend.wasm.wasmMemory ?? backend.wasm.asm?.memory ?? null;
}

/** `gelu(x, y, d, bytes)` over byte offsets of one wasm memory; bytes a multiple of 16. */
export type GeluSimd = (x: number, y: number, d: number, bytes: number) => void;

/** The SIMD GELU kernel on `memory` (the wasm backend's), or null: callers keep their JS loop. */
export function geluSimd(memory: WasmMemory, c: GeluConstants): GeluSimd | null {
  return instantiate<GeluSimd>(memory, I32S(4), mapFunction(10, geluBody(c)));
}

/**
 * `transpose(src, dst, batch, R, C, srcRow, srcBatch, dstRow, dstBatch)`: [R, C] → [C, R]
 * for 4-byte elements, R a multiple of 16 and C of 4; offsets and strides in bytes.
 */
export type TransposeSimd = (src: number, dst: number, batch: number, rows: number, cols: number, srcRow: number, srcBatch: number, dstRow: number, dstBatch: number) => void;

/** The SIMD batched transpose on `memory`, or null. */
export function transposeSimd(memory: WasmMemory): TransposeSimd | null {
  return instantiate<TransposeSimd>(memory, I32S(9), transposeFunction());
}

/** `rowCopy(src, dst, rows, cols, srcRow, dstRow, scale)`: strided float32 rows (cols a multiple of 4) times `scale`; offsets and strides in bytes. */
export type RowCopySimd = (src: number, dst: number, rows: number, cols: number, srcRow: number, dstRow: number, scale: number) => void;

/** The SIMD strided row copy on `memory`, or null. */
export function rowCopySimd(memory: WasmMemory): RowCopySimd | null {
  return instantiate<RowCopySimd>(memory, [...I32S(6), 0x7d], rowCopyFunction());
}
