/** A snapshot of an `Rng`: its four state words and the cached normal deviate. */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null;
}

/**
 * One seeded random source for the whole toolkit (initialisation, dropout
 * masks, shuffling). The generator is xoshiro128** (32-bit state words, fast
 * in JS, passes BigCrush); the seed is expanded with splitmix32 so nearby
 * seeds give unrelated streams. Same seed → same numbers on every platform.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** @param seed any integer; only its low 32 bits matter. */
  constructor(seed: number) {
    this.seed(seed);
  }

  /** Restarts the stream from `seed`. */
  seed(seed: number): void {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    this.spare = null;
  }

  /** The generator's state (to save with a checkpoint and `setState` on resume). */
  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare };
  }

  /** Continues the stream exactly where `getState` left it. */
  setState(state: RngState): void {
    [this.s0, this.s1, this.s2, this.s3] = state.s.map((x) => x >>> 0) as [number, number, number, number];
    this.spare = state.spare;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal sample (Box–Muller; the second value is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer uniformly drawn from [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** `n` floats uniform in [low, high). */
  uniformArray(n: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  /** `n` floats from N(mean, std²). */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /**
   * `n` floats from N(mean, std²) truncated to [a, b] by rejection, as
   * `torch.nn.init.trunc_normal_` (defaults a = -2, b = 2 absolute bounds).
   */
  truncNormalArray(n: number, mean = 0, std = 1, a = -2, b = 2): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v: number;
      do v = mean + std * this.normal();
      while (v < a || v > b);
      out[i] = v;
    }
    return out;
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const globalRng = new Rng(0);

/** The process-wide random source (seed 0 until `manualSeed` is called). */
export function rng(): Rng {
  return globalRng;
}

/** Reseeds the process-wide random source, like `torch.manual_seed`. */
export function manualSeed(seed: number): void {
  globalRng.seed(seed);
}
