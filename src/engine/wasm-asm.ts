/*
 * A minimal WebAssembly assembler: the few encodings that run-time-generated
 * SIMD kernels need (locals, loops, SIMD opcodes), and instantiation of a
 * one-function module over an imported memory (the wasm backend's heap).
 * There is no compiler in the toolchain; kernels are written as byte lists.
 */

/** Instruction bytes. */
export type Code = number[];

export function uleb(n: number): Code {
  const out: Code = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export function sleb(n: number): Code {
  const out: Code = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

export const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];
const name = (s: string): Code => vec([...Buffer.from(s, "utf8")].map((b) => [b]));

export const get = (i: number): Code => [0x20, ...uleb(i)];
export const set = (i: number): Code => [0x21, ...uleb(i)];
const simd = (op: number): Code => [0xfd, ...uleb(op)];
/** f64x2 with both lanes `v`. */
export const splat = (v: number): Code => [0x44, ...new Uint8Array(new Float64Array([v]).buffer), ...simd(0x14)];
export const memarg = (align: number): Code => [align, 0];

// The SIMD opcodes used (WebAssembly SIMD, final numbering).
export const F64X2 = { abs: 0xec, add: 0xf0, sub: 0xf1, mul: 0xf2, div: 0xf3, max: 0xf5, lt: 0x49, nearest: 0x94 } as const;
export const V128_LOAD = 0x00;
export const V128_STORE = 0x0b;
export const SHUFFLE = 0x0d;
export const BITSELECT = 0x52;
export const PROMOTE_LOW_F32 = 0x5f;
export const DEMOTE_F64_ZERO = 0x5e;
export const I64X2_SHL = 0xcb;
export const I64X2_SUB = 0xd1;
export const op = (o: number): Code => simd(o);
/** Bitwise, lane-access and int/float32 comparison opcodes (the compares give all-ones lanes for true). */
export const V128 = { and: 0x4e, or: 0x50, anyTrue: 0x53, load32Splat: 0x09, load64Splat: 0x0a } as const;
export const I32X4 = { splat: 0x11, extractLane: 0x1b, gtS: 0x3b, geS: 0x3f, add: 0xae, sub: 0xb1, minS: 0xb6, maxS: 0xb8 } as const;
export const F32X4 = { splat: 0x13, eq: 0x41, gt: 0x44, le: 0x45, abs: 0xe0 } as const;
/** `i32.const n`. */
export const i32 = (n: number): Code => [0x41, ...sleb(n)];
/** `v128.const` of four int32 lanes. */
export const lanes = (a: number, b = a, c = a, d = a): Code => [...simd(0x0c), ...new Uint8Array(new Int32Array([a, b, c, d]).buffer)];

// Byte patterns of i8x16.shuffle (indices 0-15 pick from the first operand, 16-31 from the second).
/** Lanes 2, 3, 0, 1: the high pair of 32-bit lanes moved low (and back). */
export const SWAP_HALVES = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** Lanes 1, 0, 3, 2. */
export const SWAP_PAIRS = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];
/** The low 8 bytes of each operand (two demoted f64x2 joined into one f32x4; f64 lane 0 of each). */
export const LOWS = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
/** The high 8 bytes of each operand. */
export const HIGHS = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];

/** Low or high float32 pair of the v128 local `x`, widened to f64x2 on the stack. */
export const lowHalf = (x: number): Code => [...get(x), ...op(PROMOTE_LOW_F32)];
export const highHalf = (x: number): Code => [...get(x), ...get(x), ...op(SHUFFLE), ...SWAP_HALVES, ...op(PROMOTE_LOW_F32)];
/** f64x2 locals `lo`, `hi` rounded to one f32x4 on the stack. */
export const demoteJoin = (lo: number, hi: number): Code => [...get(lo), ...op(DEMOTE_F64_ZERO), ...get(hi), ...op(DEMOTE_F64_ZERO), ...op(SHUFFLE), ...LOWS];

/**
 * A 4×4 transpose of 32-bit lanes: `pairs` interleaves the row locals `r`
 * into the temporaries `t` (four shuffles), then `column(k)` pushes column k
 * (one shuffle each).
 */
export function transpose4(r: readonly number[], t: readonly number[]): { pairs: Code; column: (k: number) => Code } {
  const PAIR_LO = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]; // a0 b0 a1 b1
  const PAIR_HI = [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31]; // a2 b2 a3 b3
  const mix = (a: number, b: number, pattern: number[]): Code => [...get(a), ...get(b), ...op(SHUFFLE), ...pattern];
  return {
    pairs: [
      ...mix(r[0]!, r[1]!, PAIR_LO), ...set(t[0]!), ...mix(r[0]!, r[1]!, PAIR_HI), ...set(t[1]!),
      ...mix(r[2]!, r[3]!, PAIR_LO), ...set(t[2]!), ...mix(r[2]!, r[3]!, PAIR_HI), ...set(t[3]!),
    ],
    column: (k) => mix(t[k >> 1]!, t[(k >> 1) + 2]!, k & 1 ? HIGHS : LOWS),
  };
}

/**
 * A module of one exported function over the backend's memory (imported as
 * env.memory), taking parameters of the value types `params` (0x7f i32, 0x7d
 * f32); `func` is its locals and code.
 */
function assemble(shared: boolean, fname: string, params: number[], func: Code): Uint8Array {
  const memType = shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(params.map((t) => [t])), ...vec([])]])),
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, ...memType]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name(fname), 0x00, 0]])),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

/** `for (counter = start; counter < limit; counter += step) body` on i32 locals (unsigned compare; start defaults to 0). */
export function forLoop(counter: number, limit: number, step: number, body: Code, start: Code = [0x41, 0]): Code {
  return [
    ...start, ...set(counter),
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(counter), ...get(limit), 0x4f, 0x0d, 1, // br_if out when counter >= limit
    ...body,
    ...get(counter), 0x41, ...sleb(step), 0x6a, ...set(counter),
    0x0c, 0, 0x0b, 0x0b, // br loop; end loop; end block
  ];
}

/** The parts of the WebAssembly JS API used here (tsconfig has no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** A wasm memory, as the backend exposes it. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}

/** A growable wasm memory (the parts used here). */
export interface GrowableMemory extends WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** A new one-page wasm memory for a kernel's own buffers (apart from the backend's heap), or null without WebAssembly. */
export function ownMemory(): GrowableMemory | null {
  const api = (globalThis as unknown as { WebAssembly?: { Memory: new (desc: { initial: number }) => GrowableMemory } }).WebAssembly;
  return api ? new api.Memory({ initial: 1 }) : null;
}

/** Grows `memory` to hold at least `bytes` (views of its old buffer are detached when it grows). */
export function growTo(memory: GrowableMemory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
}

/** `n` i32 parameter types. */
export const I32S = (n: number): number[] => new Array<number>(n).fill(0x7f);

/** Instantiates one function on `memory`, or null when this runtime cannot (no SIMD). */
export function instantiate<F>(memory: WasmMemory, params: number[], func: Code): F | null {
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    const instance = new wasm.Instance(new wasm.Module(assemble(shared, "f", params, func)), { env: { memory } });
    return instance.exports.f as F;
  } catch {
    return null;
  }
}
