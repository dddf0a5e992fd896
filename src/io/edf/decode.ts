import { demoteJoin, F64X2, forLoop, get, growTo, i32, I32S, instantiate, memarg, op, ownMemory, set, SHUFFLE, SWAP_HALVES, uleb, V128_LOAD, V128_STORE, vec, type Code, type GrowableMemory } from "../../engine/wasm-asm.js";

/*
 * EDF/BDF samples are little-endian int16 (EDF) or int24 (BDF), one signal's
 * samples contiguous within each record, and decode as
 * `float32((digital + offset) · scale)` in float64 arithmetic. In JS that loop
 * costs ~3–5 ns per sample here, most of a warm read of an hour of 64
 * channels; WebAssembly SIMD widens eight int16 (or four int24) at a time to
 * float64 pairs, adds, multiplies and rounds to float32 exactly as the JS does
 * (each step is one IEEE operation with the same rounding).
 */

// Opcodes beyond the shared table in wasm-asm.
const I32X4_EXTEND_LOW_I16X8_S = 0xa7;
const I32X4_EXTEND_HIGH_I16X8_S = 0xa8;
const I32X4_SHR_S = 0xac;
const F64X2_CONVERT_LOW_I32X4_S = 0xfe;
const F64X2_SPLAT = 0x14;

/** `(src, srcStride, dst, dstStride, nRecs, nVec, offset, scale)`: byte offsets and strides, `nVec` samples per record (a multiple of the vector width). */
type DecodeFn = (src: number, srcStride: number, dst: number, dstStride: number, nRecs: number, nVec: number, offset: number, scale: number) => void;

function decodeCode(bytesPerSample: 2 | 3): Code {
  const [SRC, SSTRIDE, DST, DSTRIDE, NRECS, NVEC, OFFSET, SCALE] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [R, J, P, Q] = [8, 9, 10, 11];
  const [OFF, SC, V, X, A, B, ZERO] = [12, 13, 14, 15, 16, 17, 18];
  // Lanes (int32 on the stack) → float64 pairs → (x + offset) · scale → float32, stored at Q + J·4 + `extra`.
  const half = (into: number, high: boolean): Code => [
    ...get(X), ...(high ? [...get(X), ...op(SHUFFLE), ...SWAP_HALVES] : []), ...op(F64X2_CONVERT_LOW_I32X4_S),
    ...get(OFF), ...op(F64X2.add), ...get(SC), ...op(F64X2.mul), ...set(into),
  ];
  const store = (offset: number): Code => [
    ...half(A, false), ...half(B, true),
    ...get(Q), ...get(J), ...i32(2), 0x74, 0x6a, ...demoteJoin(A, B), ...op(V128_STORE), 0, ...uleb(offset),
  ];
  const body: Code =
    bytesPerSample === 2
      ? [
          ...get(P), ...get(J), ...i32(1), 0x74, 0x6a, ...op(V128_LOAD), ...memarg(0), ...set(V),
          ...get(V), ...op(I32X4_EXTEND_LOW_I16X8_S), ...set(X), ...store(0),
          ...get(V), ...op(I32X4_EXTEND_HIGH_I16X8_S), ...set(X), ...store(16),
        ]
      : [
          // Four 3-byte samples into the top three bytes of four int32 lanes, then an arithmetic shift sign-extends them.
          ...get(P), ...get(J), ...i32(3), 0x6c, 0x6a, ...op(V128_LOAD), ...memarg(0),
          ...get(ZERO), ...op(SHUFFLE), 16, 0, 1, 2, 16, 3, 4, 5, 16, 6, 7, 8, 16, 9, 10, 11,
          ...i32(8), ...op(I32X4_SHR_S), ...set(X), ...store(0),
        ];
  return [
    ...vec([[4, 0x7f], [7, 0x7b]]),
    ...get(OFFSET), ...op(F64X2_SPLAT), ...set(OFF),
    ...get(SCALE), ...op(F64X2_SPLAT), ...set(SC),
    ...forLoop(R, NRECS, 1, [
      ...get(SRC), ...get(R), ...get(SSTRIDE), 0x6c, 0x6a, ...set(P),
      ...get(DST), ...get(R), ...get(DSTRIDE), 0x6c, 0x6a, ...set(Q),
      ...forLoop(J, NVEC, bytesPerSample === 2 ? 8 : 4, body),
    ]),
    0x0b,
  ];
}

/**
 * `row[o + i·stride + (j − a)] = float32((x + offset) · scale)` for samples
 * `j ∈ [a, b)` of `nRecs` consecutive records, where record `i`'s signal
 * starts at byte `at + i·recordBytes` of `buf` and `x` is its `j`-th
 * little-endian sample of `bytesPerSample` bytes; `stride` defaults to
 * `b − a` (the records' runs back to back). The plain-JS decoder (the SIMD
 * one gives the same values).
 */
export function decodeRecordsJs(buf: Uint8Array, at: number, recordBytes: number, nRecs: number, a: number, b: number, bytesPerSample: 2 | 3, offset: number, scale: number, row: Float32Array, o: number, stride = b - a): void {
  if (bytesPerSample === 2) {
    // Records start at even offsets in EDF, so an Int16Array view lines up when the buffer does.
    const i16 = new Int16Array(buf.buffer, buf.byteOffset, buf.length >> 1);
    for (let r = 0; r < nRecs; r++) {
      let p = (at + r * recordBytes) / 2 + a;
      let q = o + r * stride;
      for (let j = a; j < b; j++) row[q++] = (i16[p++]! + offset) * scale;
    }
  } else {
    for (let r = 0; r < nRecs; r++) {
      let p = at + r * recordBytes + a * 3;
      let q = o + r * stride;
      for (let j = a; j < b; j++, p += 3) row[q++] = ((((buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16)) << 8) >> 8) + offset) * scale;
    }
  }
}

/**
 * A WebAssembly memory holding the read buffer and a staging area for one
 * signal's decoded samples: reads land in the buffer, the SIMD kernels decode
 * into the staging area, and each signal's run is copied to its row once.
 * One per process (see `edfDecoder`); it keeps its largest size.
 */
export class EdfDecodeArena {
  private readonly memory: GrowableMemory;
  private readonly kernels: Record<2 | 3, DecodeFn>;
  private bufferBytes = 0;
  private stagingAt = 0;
  private stagingFloats = 0;

  private constructor(memory: GrowableMemory, kernels: Record<2 | 3, DecodeFn>) {
    this.memory = memory;
    this.kernels = kernels;
  }

  /** An arena, or null where WebAssembly SIMD is not available. */
  static create(): EdfDecodeArena | null {
    const memory = ownMemory();
    if (!memory) return null;
    const params = [...I32S(6), 0x7c, 0x7c];
    const k2 = instantiate<DecodeFn>(memory, params, decodeCode(2));
    const k3 = instantiate<DecodeFn>(memory, params, decodeCode(3));
    return k2 && k3 ? new EdfDecodeArena(memory, { 2: k2, 3: k3 }) : null;
  }

  /**
   * Lays out a read buffer of `bufferBytes` and room for `stagingFloats`
   * decoded samples, growing the memory as needed, and returns the buffer
   * (earlier views are invalid afterwards).
   */
  reserve(bufferBytes: number, stagingFloats: number): Uint8Array {
    // Vector loads near the buffer's end read up to 16 bytes past a sample: keep them inside the memory.
    this.stagingAt = Math.ceil((bufferBytes + 16) / 16) * 16;
    this.bufferBytes = bufferBytes;
    this.stagingFloats = stagingFloats;
    const need = this.stagingAt + 4 * stagingFloats + 16;
    growTo(this.memory, need);
    return new Uint8Array(this.memory.buffer, 0, bufferBytes);
  }

  /**
   * `decodeRecordsJs` for a `buf` that is this arena's read buffer (false,
   * nothing done, for any other buffer or when the staging area is too small).
   */
  decode(buf: Uint8Array, at: number, recordBytes: number, nRecs: number, a: number, b: number, bytesPerSample: 2 | 3, offset: number, scale: number, row: Float32Array, o: number): boolean {
    const n = b - a;
    if (buf.buffer !== this.memory.buffer || buf.byteOffset !== 0 || buf.length > this.bufferBytes || nRecs * n > this.stagingFloats) return false;
    const width = bytesPerSample === 2 ? 8 : 4;
    const nVec = n - (n % width);
    const staging = new Float32Array(this.memory.buffer, this.stagingAt, nRecs * n);
    if (nVec > 0) this.kernels[bytesPerSample](at + a * bytesPerSample, recordBytes, this.stagingAt, 4 * n, nRecs, nVec, offset, scale);
    // Samples past the last whole vector of each record.
    if (nVec < n) decodeRecordsJs(buf, at, recordBytes, nRecs, a + nVec, b, bytesPerSample, offset, scale, staging, nVec, n);
    row.set(staging, o);
    return true;
  }
}

let shared: EdfDecodeArena | null | undefined;

/** The process's EDF decode arena (created on first use), or null without WebAssembly SIMD. */
export function edfDecoder(): EdfDecodeArena | null {
  if (shared === undefined) shared = EdfDecodeArena.create();
  return shared;
}
