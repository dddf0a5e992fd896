/**
 * Single-precision real FFTs on PFFFT (Julien Pommier's SIMD rewrite of
 * FFTPACK), through its WebAssembly build `@echogarden/pffft-wasm`.
 *
 * Why a library: the float64 JavaScript FFT in fft.ts does a 65536-point
 * convolution block ~5 times slower than PFFFT's 4-lane SIMD code, and FIR
 * filtering and MNE-style resampling are nearly all FFTs. The price is float32
 * arithmetic (a few 1e-7 of the signal's range instead of ~1e-8), so callers
 * use it only where the result is stored as float32 anyway; convolve.ts and
 * resample.ts choose by the output array's type.
 *
 * The WebAssembly module is instantiated once per thread, at import (top-level
 * await), so the signal API stays synchronous; worker threads load their own.
 * If the SIMD build cannot load, the scalar build is used; if neither loads,
 * `pffftAvailable()` is false and callers fall back to fft.ts.
 */

/** The parts of the Emscripten module this file uses (the package ships no types). */
interface PffftModule {
  HEAPF32: Float32Array;
  _pffft_new_setup(n: number, transform: number): number;
  _pffft_destroy_setup(setup: number): void;
  _pffft_transform(setup: number, input: number, output: number, work: number, direction: number): void;
  _pffft_transform_ordered(setup: number, input: number, output: number, work: number, direction: number): void;
  _pffft_zconvolve_accumulate(setup: number, a: number, b: number, ab: number, scaling: number): void;
  _pffft_aligned_malloc(bytes: number): number;
  _pffft_aligned_free(ptr: number): void;
  _pffft_simd_size(): number;
}

const REAL = 0;
const FORWARD = 0;
const BACKWARD = 1;

async function load(): Promise<PffftModule | null> {
  for (const entry of ["@echogarden/pffft-wasm/simd", "@echogarden/pffft-wasm"]) {
    try {
      const factory = (await import(entry)) as { default: () => Promise<PffftModule> };
      return await factory.default();
    } catch {
      // SIMD unsupported (or the package missing): try the next build, then fft.ts.
    }
  }
  return null;
}

const wasm = await load();

/** Whether PFFFT loaded in this thread. */
export function pffftAvailable(): boolean {
  return wasm !== null;
}

/** Whether PFFFT does real transforms of length n: n = 2^a·3^b·5^c and a multiple of 2·simd². */
export function pffftSupportsReal(n: number): boolean {
  if (!wasm || !Number.isInteger(n) || n <= 0) return false;
  const s = wasm._pffft_simd_size();
  if (n % (2 * s * s) !== 0 || n < 32) return false;
  let m = n;
  for (const p of [2, 3, 5]) while (m % p === 0) m /= p;
  return m === 1;
}

/**
 * A real FFT of one length with its own wasm buffers `a`, `b`, `c` (n floats
 * each). Operations read and write these buffers; views are fetched afresh
 * each call because memory growth detaches old ones. Not shared between
 * threads (each thread has its own module).
 */
export class PffftReal {
  readonly n: number;
  private readonly setup: number;
  private readonly pa: number;
  private readonly pb: number;
  private readonly pc: number;
  private readonly work: number;

  constructor(n: number) {
    if (!wasm || !pffftSupportsReal(n)) throw new RangeError(`PFFFT cannot do a real FFT of length ${n}`);
    this.n = n;
    this.setup = wasm._pffft_new_setup(n, REAL);
    if (!this.setup) throw new RangeError(`PFFFT rejected length ${n}`);
    this.pa = alloc(n);
    this.pb = alloc(n);
    this.pc = alloc(n);
    this.work = alloc(n);
  }

  /** Buffer a (input of every operation). */
  get a(): Float32Array {
    return view(this.pa, this.n);
  }

  /** Buffer b (output of every operation). */
  get b(): Float32Array {
    return view(this.pb, this.n);
  }

  /**
   * Forward transform a → b in canonical order: b[0] = X[0], b[1] = X[n/2]
   * (both real), then Re X[k], Im X[k] for k = 1 … n/2 − 1; X[k] = Σ x[t]·e^{−2πikt/n}.
   */
  forwardOrdered(): void {
    wasm!._pffft_transform_ordered(this.setup, this.pa, this.pb, this.work, FORWARD);
  }

  /** Inverse of `forwardOrdered` without the 1/n: a (canonical order) → b = n·x. */
  backwardOrdered(): void {
    wasm!._pffft_transform_ordered(this.setup, this.pa, this.pb, this.work, BACKWARD);
  }

  /**
   * The spectrum of `h` (zero-padded to n) in PFFFT's internal order, scaled
   * by `scale`, for `convolve`. The caller owns it and frees it with `free`.
   */
  spectrum(h: ArrayLike<number>, scale: number): number {
    if (h.length > this.n) throw new RangeError(`filter of ${h.length} taps longer than the FFT (${this.n})`);
    const a = this.a;
    for (let i = 0; i < h.length; i++) a[i] = h[i]! * scale;
    a.fill(0, h.length);
    const p = alloc(this.n);
    wasm!._pffft_transform(this.setup, this.pa, p, this.work, FORWARD);
    return p;
  }

  /** Circular convolution of a with the signal whose `spectrum` is given: b = IFFT(FFT(a)·H) (scales as `spectrum` was asked). */
  convolve(spectrum: number): void {
    const w = wasm!;
    w._pffft_transform(this.setup, this.pa, this.pc, this.work, FORWARD);
    view(this.pb, this.n).fill(0);
    w._pffft_zconvolve_accumulate(this.setup, this.pc, spectrum, this.pb, 1);
    w._pffft_transform(this.setup, this.pb, this.pb, this.work, BACKWARD);
  }

  /** Frees a buffer returned by `spectrum`. */
  free(ptr: number): void {
    wasm!._pffft_aligned_free(ptr);
  }

  /** Frees the plan's setup and buffers; the plan is unusable afterwards. */
  dispose(): void {
    for (const p of [this.pa, this.pb, this.pc, this.work]) wasm!._pffft_aligned_free(p);
    wasm!._pffft_destroy_setup(this.setup);
  }
}

function alloc(nFloats: number): number {
  const p = wasm!._pffft_aligned_malloc(4 * nFloats);
  if (!p) throw new RangeError(`PFFFT could not allocate ${nFloats} floats`);
  return p;
}

function view(ptr: number, n: number): Float32Array {
  return wasm!.HEAPF32.subarray(ptr >> 2, (ptr >> 2) + n);
}

const plans = new Map<number, PffftReal>();
/** Plans kept per thread; resampling recordings of many lengths would otherwise keep 4 buffers per length. */
const MAX_PLANS = 8;

/**
 * A cached plan for length n in this thread. Beyond `MAX_PLANS` the least
 * recently used plan is freed, so a caller may hold at most `MAX_PLANS − 1`
 * plans across later calls (the signal code holds two).
 */
export function pffftPlan(n: number): PffftReal {
  let p = plans.get(n);
  if (p) {
    plans.delete(n);
  } else {
    if (plans.size >= MAX_PLANS) {
      const [oldest, plan] = plans.entries().next().value as [number, PffftReal];
      plans.delete(oldest);
      plan.dispose();
    }
    p = new PffftReal(n);
  }
  plans.set(n, p);
  return p;
}
