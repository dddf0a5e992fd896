import { get, op, set, V128, V128_LOAD, V128_STORE, type Code } from "./wasm-asm.js";

/*
 * float32x4 approximations of exp, σ and tanh for run-time-assembled
 * WebAssembly kernels (four lanes per instruction; the float64 kernels of
 * simd.ts do two). Each is within a few float32 ulps:
 * e^a = 2^k·e^r with k = round(a/ln 2), r = a − k·ln 2 in two parts
 * (Cody–Waite) and e^r by its Taylor series to r⁷ (|r| ≤ ln 2/2, truncation
 * < 2e-8 relative); near zero, where 1 − e^x would cancel, tanh uses its
 * own series instead. Min/max are the pseudo-min/max (one instruction each;
 * the IEEE ones take several in V8). Arguments are clamped to ±87 so that 2^k
 * stays a normal float32.
 */

/** The float32x4 opcodes used here and by the kernels built on them. */
export const F32X4 = { add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7, pmin: 0xea, pmax: 0xeb, abs: 0xe0, neg: 0xe1, lt: 0x43, nearest: 0x6a } as const;
const I32X4_ADD = 0xae;
const I32X4_SHL = 0xab;
const V128_CONST = 0x0c;
const BITSELECT = 0x52;

/**
 * Vector constants kept in v128 locals numbered from `first`, set once before
 * a kernel's loop (`init`): V8 rebuilds a `v128.const` inside a loop on every
 * iteration, which made these kernels several times slower.
 */
export class ConstantLocals {
  private readonly slots = new Map<string, { local: number; bytes: number[] }>();
  constructor(private readonly first: number) {}

  /** Pushes four float32 lanes `x`. */
  f32(x: number): Code {
    return this.use(new Float32Array([x, x, x, x]).buffer);
  }

  /** Pushes four int32 lanes `x`. */
  i32(x: number): Code {
    return this.use(new Int32Array([x, x, x, x]).buffer);
  }

  private use(buffer: ArrayBuffer): Code {
    const bytes = [...new Uint8Array(buffer)];
    const key = bytes.join();
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { local: this.first + this.slots.size, bytes }));
    return get(slot.local);
  }

  /** How many locals the constants take. */
  get count(): number {
    return this.slots.size;
  }

  /** Sets every constant's local (run before the loop). */
  init(): Code {
    return [...this.slots.values()].flatMap((s) => [...op(V128_CONST), ...s.bytes, ...set(s.local)]);
  }
}
const f = (o: number): Code => op(o);
/** v128 load / store at the address on the stack (4-byte alignment hint). */
export const load: Code = [...op(V128_LOAD), 2, 0];
export const store: Code = [...op(V128_STORE), 2, 0];

const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
const EXP_LIMIT = 87;
const ROUNDER = 1.5 * 2 ** 23;
const ROUNDER_BITS = 0x4b400000;
/** Below this |x| the series are used (1 − e^x would cancel). */
const SERIES_BELOW = 0.25;

/** Scratch v128 locals the builders use. */
export interface F32MathLocals {
  a: number;
  k: number;
  r: number;
  e: number;
  x2: number;
}

/**
 * Code builders over v128 locals, each leaving four float32 results on the
 * stack: `exp` of local `a` (in [−87, 87]), and σ and tanh of a local.
 */
export function f32Math(t: F32MathLocals, c: ConstantLocals): { exp: Code; sigmoid: (x: number) => Code; tanh: (x: number) => Code } {
  // k = round(a·log2 e) by adding 1.5·2^23 (the float add rounds; the sum's low mantissa bits hold k),
  // which also gives 2^k's bits without a float-to-int conversion (several instructions in V8).
  const exp: Code = [
    ...get(t.a), ...c.f32(Math.LOG2E), ...f(F32X4.mul), ...c.f32(ROUNDER), ...f(F32X4.add), ...set(t.k),
    ...get(t.k), ...c.f32(ROUNDER), ...f(F32X4.sub), ...set(t.r), // k as a float
    ...get(t.a), ...get(t.r), ...c.f32(LN2_HI), ...f(F32X4.mul), ...f(F32X4.sub), ...get(t.r), ...c.f32(LN2_LO), ...f(F32X4.mul), ...f(F32X4.sub), ...set(t.r),
    ...c.f32(1 / 5040),
    ...[1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1].flatMap((k) => [...get(t.r), ...f(F32X4.mul), ...c.f32(k), ...f(F32X4.add)]),
    // 2^k: (k + 127) << 23 as float32 bits
    ...get(t.k), ...c.i32(127 - ROUNDER_BITS), ...op(I32X4_ADD), 0x41, 23, ...op(I32X4_SHL),
    ...f(F32X4.mul),
  ];
  /** Σ c_j·x^j for x² in local x2 and x in local x, by Horner in x (`coef` from the highest power down). */
  const poly = (x: number, coef: number[]): Code => [
    ...c.f32(coef[0]!),
    ...coef.slice(1).flatMap((k) => [...get(x), ...f(F32X4.mul), ...c.f32(k), ...f(F32X4.add)]),
  ];
  /** Picks the stack's first operand where |x| < SERIES_BELOW, else the second. */
  const nearZero = (x: number): Code => [...get(x), ...f(F32X4.abs), ...c.f32(SERIES_BELOW), ...f(F32X4.lt), ...op(BITSELECT)];
  return {
    exp,
    sigmoid: (x) => [
      ...get(x), ...f(F32X4.neg), ...c.f32(EXP_LIMIT), ...f(F32X4.pmin), ...c.f32(-EXP_LIMIT), ...f(F32X4.pmax), ...set(t.a),
      ...c.f32(1), ...c.f32(1), ...exp, ...f(F32X4.add), ...f(F32X4.div),
    ],
    // (1 − e)/(1 + e) with e = e^−2|x| and x's sign bit; near zero x + x³(−1/3 + x²(2/15 + x²(−17/315 + x²·62/2835))).
    tanh: (x) => [
      ...get(x), ...f(F32X4.abs), ...c.f32(-2), ...f(F32X4.mul), ...c.f32(-EXP_LIMIT), ...f(F32X4.pmax), ...set(t.a),
      ...exp, ...set(t.e),
      ...get(x), ...get(x), ...f(F32X4.mul), ...set(t.x2),
      ...get(x), ...get(x), ...get(t.x2), ...f(F32X4.mul), ...poly(t.x2, [62 / 2835, -17 / 315, 2 / 15, -1 / 3]), ...f(F32X4.mul), ...f(F32X4.add),
      ...c.f32(1), ...get(t.e), ...f(F32X4.sub), ...c.f32(1), ...get(t.e), ...f(F32X4.add), ...f(F32X4.div),
      ...get(x), ...c.i32(-0x80000000), ...op(V128.and), ...op(V128.or),
      ...nearZero(x),
    ],
  };
}
