import { demoteJoin, F64X2, forLoop, get, growTo, highHalf, i32, I32S, instantiate, lowHalf, memarg, op, ownMemory, set, SHUFFLE, transpose4, V128, V128_LOAD, V128_STORE, vec, type Code, type GrowableMemory } from "../../engine/wasm-asm.js";

/*
 * FIF raw data is stored time-major (`[samples][channels]`, big-endian) and
 * read channel-major, calibrated: a transpose with one float64 multiply per
 * value. In JS that loop costs ~3.4 ns per value, a fifth of a whole
 * `neurocode convert`; in WebAssembly SIMD, 4×4 blocks (four row loads with
 * their byte swaps, eight lane shuffles, four calibrated column stores) cost
 * ~0.55 ns per value. The
 * arithmetic is the JS loop's: float32 → float64, times the float64 factor,
 * rounded once to float32.
 */

/** Largest data buffer (bytes) to read through an arena (its memory is 32-bit); larger ones keep the JS path. */
export const FIF_ARENA_MAX_BUFFER = 256 << 20;

/** `(src, dst, nsamp4, nchan, nchan4, dstRowBytes, cals)`; offsets in bytes, counts in values. */
type TransposeFn = (src: number, dst: number, nsamp4: number, nchan: number, nchan4: number, dstRowBytes: number, cals: number) => void;

function transposeCalibrateCode(): Code {
  const [SRC, DST, NS4, NCH, NC4, DROW, CALS] = [0, 1, 2, 3, 4, 5, 6];
  const [T, C, P, Q, SROW, TB, TEND] = [7, 8, 9, 10, 11, 12, 13];
  const [R0, R1, R2, R3, T0, T1, T2, T3, CAL, LO, HI] = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
  const { pairs, column } = transpose4([R0, R1, R2, R3], [T0, T1, T2, T3]);
  // Row k of the block, its big-endian floats byte-swapped.
  const SWAP32 = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
  const load = (row: number, k: number): Code => [
    ...get(P), ...get(SROW), ...i32(k), 0x6c, 0x6a, ...op(V128_LOAD), ...memarg(2), ...set(row),
    ...get(row), ...get(row), ...op(SHUFFLE), ...SWAP32, ...set(row),
  ];
  // Column j of the block (on the stack) × cals[C + j], stored at dst row C + j, samples T..T+3.
  const store = (j: number): Code => [
    ...column(j), ...set(LO),
    ...get(CALS), ...get(C), ...i32(j), 0x6a, ...i32(3), 0x74, 0x6a, ...op(V128.load64Splat), ...memarg(3), ...set(CAL),
    ...get(DST), ...get(C), ...i32(j), 0x6a, ...get(DROW), 0x6c, 0x6a, ...get(T), ...i32(2), 0x74, 0x6a, ...set(Q),
    ...highHalf(LO), ...get(CAL), ...op(F64X2.mul), ...set(HI),
    ...lowHalf(LO), ...get(CAL), ...op(F64X2.mul), ...set(LO),
    ...get(Q), ...demoteJoin(LO, HI), ...op(V128_STORE), ...memarg(2),
  ];
  const block: Code = [
    // p = src + (T·nchan + C)·4
    ...get(SRC), ...get(T), ...get(NCH), 0x6c, ...get(C), 0x6a, ...i32(2), 0x74, 0x6a, ...set(P),
    ...load(R0, 0), ...load(R1, 1), ...load(R2, 2), ...load(R3, 3),
    ...pairs,
    ...store(0), ...store(1), ...store(2), ...store(3),
  ];
  return [
    ...vec([[7, 0x7f], [11, 0x7b]]),
    ...get(NCH), ...i32(2), 0x74, ...set(SROW),
    // Sixteen samples (one 64-byte line of each output row) for all channels, then the next sixteen.
    ...forLoop(TB, NS4, 16, [
      ...get(TB), ...i32(16), 0x6a, ...get(NS4), ...get(TB), ...i32(16), 0x6a, ...get(NS4), 0x49, 0x1b, ...set(TEND), // min(TB + 16, nsamp4)
      ...forLoop(C, NC4, 4, forLoop(T, TEND, 4, block, get(TB))),
    ]),
    0x0b,
  ];
}

/**
 * A WebAssembly memory holding a read buffer and a chunk of output rows, so
 * that float32 FIF buffers read into the one decode into the other with SIMD.
 * Views handed out stay valid until the next `reserve`.
 */
export class FifDecodeArena {
  private readonly memory: GrowableMemory;
  private readonly transpose: TransposeFn;
  private scratchAt = 0;
  private scratchBytes = 0;
  private calsAt = 0;

  private constructor(memory: GrowableMemory, transpose: TransposeFn) {
    this.memory = memory;
    this.transpose = transpose;
  }

  /** An arena, or null where WebAssembly SIMD is not available. */
  static create(): FifDecodeArena | null {
    const memory = ownMemory();
    if (!memory) return null;
    const fn = instantiate<TransposeFn>(memory, I32S(7), transposeCalibrateCode());
    return fn ? new FifDecodeArena(memory, fn) : null;
  }

  /**
   * Lays out `chunkFloats` output values, a `scratchBytes` read buffer and
   * `nchan` float64 calibration factors, growing the memory as needed; returns
   * the output chunk (earlier views are invalid afterwards).
   */
  reserve(chunkFloats: number, scratchBytes: number, nchan: number): Float32Array {
    const align = (n: number) => Math.ceil(n / 16) * 16;
    this.scratchAt = align(chunkFloats * 4);
    this.scratchBytes = scratchBytes;
    this.calsAt = align(this.scratchAt + scratchBytes);
    const need = this.calsAt + nchan * 8;
    growTo(this.memory, need);
    return new Float32Array(this.memory.buffer, 0, chunkFloats);
  }

  /** The read buffer (`len` ≤ the reserved bytes). */
  scratch(len: number): Uint8Array {
    if (len > this.scratchBytes) throw new RangeError(`FIF decode arena: ${len} bytes asked, ${this.scratchBytes} reserved`);
    return new Uint8Array(this.memory.buffer, this.scratchAt, len);
  }

  /**
   * `out[k][o + t] = src[t·nchan + k] · cals[k]` for all nchan channels, where
   * `bytes` holds the big-endian float32 samples `src` (as stored: not yet
   * swapped) in this arena's read buffer. Rows that are evenly spaced views of
   * the arena's chunk are written directly; other rows through the chunk (which
   * must then hold nchan × nsamp values). False (nothing done) when neither
   * applies. Samples and channels beyond multiples of 4 are done in JS, with
   * the same arithmetic.
   */
  scatterFloat(bytes: Uint8Array, nchan: number, nsamp: number, cals: Float64Array, out: Float32Array[], o: number): boolean {
    const buffer = this.memory.buffer;
    if (bytes.buffer !== buffer || bytes.byteLength < nsamp * nchan * 4 || out.length !== nchan || nchan === 0) return false;
    if (out.some((row) => row.length < o + nsamp)) return false;
    const stride = nchan > 1 ? out[1]!.byteOffset - out[0]!.byteOffset : 0;
    let own = true;
    for (let k = 0; k < nchan && own; k++) {
      const row = out[k]!;
      own = row.buffer === buffer && row.byteOffset === out[0]!.byteOffset + k * stride && row.byteOffset + row.byteLength <= this.scratchAt;
    }
    if (!own) {
      // Rows elsewhere (a whole recording): decode into the arena's chunk, then copy each channel's run
      // (not when some row is in the arena: staging would overwrite it).
      if (nchan * nsamp * 4 > this.scratchAt || out.some((row) => row.buffer === buffer)) return false;
      const staged = new Float32Array(buffer, 0, nchan * nsamp);
      const rows = Array.from({ length: nchan }, (_, k) => staged.subarray(k * nsamp, (k + 1) * nsamp));
      this.scatterFloat(bytes, nchan, nsamp, cals, rows, 0);
      for (let k = 0; k < nchan; k++) out[k]!.set(rows[k]!, o);
      return true;
    }
    new Float64Array(buffer, this.calsAt, nchan).set(cals.subarray(0, nchan));
    const [ns4, nc4] = [nsamp & ~3, nchan & ~3];
    this.transpose(bytes.byteOffset, out[0]!.byteOffset + 4 * o, ns4, nchan, nc4, stride, this.calsAt);
    // The edges: channels past the last multiple of 4 (all samples), samples past it (the block channels).
    const view = new DataView(buffer, bytes.byteOffset, nsamp * nchan * 4);
    for (let k = nc4; k < nchan; k++) {
      const [row, cal] = [out[k]!, cals[k]!];
      for (let t = 0, i = k; t < nsamp; t++, i += nchan) row[o + t] = view.getFloat32(4 * i) * cal;
    }
    for (let k = 0; k < nc4; k++) {
      const [row, cal] = [out[k]!, cals[k]!];
      for (let t = ns4, i = ns4 * nchan + k; t < nsamp; t++, i += nchan) row[o + t] = view.getFloat32(4 * i) * cal;
    }
    return true;
  }
}
