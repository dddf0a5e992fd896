/**
 * Complex FFT of any length on split real/imaginary `Float64Array`s.
 *
 * Lengths whose prime factors are all ≤ 13 run as a self-sorting (Stockham)
 * mixed-radix transform with radix-4/2/3/5 kernels and a generic odd kernel;
 * other lengths go through Bluestein's chirp-z algorithm on a power-of-two
 * plan. MNE's `resample` needs arbitrary output lengths (e.g. 819200 =
 * 2^15·5^2 when going from 256 to 200 Hz), which is why this is not radix-2
 * only. Forward: X[k] = Σ x[n]·e^{-2πikn/N}; inverse is normalised by 1/N.
 */

interface Stage {
  radix: number;
  /** Sub-transform length n_cur of this stage. */
  n: number;
  /** Stride s (product of previous radices). */
  s: number;
  /** Twiddles e^{-2πi·p·k/n} for p < n/radix, k < radix, interleaved [k-major within p]. */
  twRe: Float64Array;
  twIm: Float64Array;
}

const MAX_DIRECT_PRIME = 13;

function factorize(n: number): number[] | null {
  const f: number[] = [];
  let m = n;
  while (m % 4 === 0) {
    f.push(4);
    m /= 4;
  }
  if (m % 2 === 0) {
    f.push(2);
    m /= 2;
  }
  for (let p = 3; p <= MAX_DIRECT_PRIME; p += 2) {
    while (m % p === 0) {
      f.push(p);
      m /= p;
    }
  }
  return m === 1 ? f : null;
}

/** A reusable FFT of one length. Not thread-safe (it owns scratch buffers). */
export class FftPlan {
  readonly n: number;
  private readonly stages: Stage[] = [];
  private readonly bufRe: Float64Array;
  private readonly bufIm: Float64Array;
  private readonly bluestein: { m: FftPlan; chirpRe: Float64Array; chirpIm: Float64Array; kernRe: Float64Array; kernIm: Float64Array; aRe: Float64Array; aIm: Float64Array } | null = null;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT length must be a positive integer, got ${n}`);
    this.n = n;
    const factors = factorize(n);
    if (factors) {
      let s = 1;
      let cur = n;
      for (const r of factors) {
        const m = cur / r;
        const twRe = new Float64Array(m * r);
        const twIm = new Float64Array(m * r);
        for (let p = 0; p < m; p++) {
          for (let k = 0; k < r; k++) {
            const a = (-2 * Math.PI * p * k) / cur;
            twRe[p * r + k] = Math.cos(a);
            twIm[p * r + k] = Math.sin(a);
          }
        }
        this.stages.push({ radix: r, n: cur, s, twRe, twIm });
        s *= r;
        cur = m;
      }
      this.bufRe = new Float64Array(n);
      this.bufIm = new Float64Array(n);
    } else {
      let m = 1;
      while (m < 2 * n - 1) m *= 2;
      const chirpRe = new Float64Array(n);
      const chirpIm = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        // k² mod 2n keeps the angle small so the chirp stays accurate for large n.
        const a = (Math.PI * ((k * k) % (2 * n))) / n;
        chirpRe[k] = Math.cos(a);
        chirpIm[k] = -Math.sin(a);
      }
      const kernRe = new Float64Array(m);
      const kernIm = new Float64Array(m);
      kernRe[0] = chirpRe[0]!;
      kernIm[0] = -chirpIm[0]!;
      for (let k = 1; k < n; k++) {
        kernRe[k] = kernRe[m - k] = chirpRe[k]!;
        kernIm[k] = kernIm[m - k] = -chirpIm[k]!;
      }
      const plan = new FftPlan(m);
      plan.forward(kernRe, kernIm);
      this.bluestein = { m: plan, chirpRe, chirpIm, kernRe, kernIm, aRe: new Float64Array(m), aIm: new Float64Array(m) };
      this.bufRe = new Float64Array(0);
      this.bufIm = new Float64Array(0);
    }
  }

  /** In-place forward transform. */
  forward(re: Float64Array, im: Float64Array): void {
    if (re.length < this.n || im.length < this.n) throw new RangeError(`FFT buffers shorter than ${this.n}`);
    if (this.bluestein) this.runBluestein(re, im);
    else this.runStockham(re, im);
  }

  /** In-place inverse transform, scaled by 1/N. */
  inverse(re: Float64Array, im: Float64Array): void {
    // ifft(x) = swap(fft(swap(x))) / N: reuse the forward kernels.
    this.forward(im, re);
    const s = 1 / this.n;
    for (let i = 0; i < this.n; i++) {
      re[i]! *= s;
      im[i]! *= s;
    }
  }

  private runStockham(re: Float64Array, im: Float64Array): void {
    let xr = re;
    let xi = im;
    let yr = this.bufRe;
    let yi = this.bufIm;
    for (const st of this.stages) {
      switch (st.radix) {
        case 4:
          radix4(st, xr, xi, yr, yi);
          break;
        case 2:
          radix2(st, xr, xi, yr, yi);
          break;
        case 3:
          radix3(st, xr, xi, yr, yi);
          break;
        case 5:
          radix5(st, xr, xi, yr, yi);
          break;
        default:
          radixGeneric(st, xr, xi, yr, yi);
      }
      const tr = xr;
      const ti = xi;
      xr = yr;
      xi = yi;
      yr = tr;
      yi = ti;
    }
    if (xr !== re) {
      re.set(xr.subarray(0, this.n));
      im.set(xi.subarray(0, this.n));
    }
  }

  private runBluestein(re: Float64Array, im: Float64Array): void {
    const b = this.bluestein!;
    const n = this.n;
    const { aRe, aIm, chirpRe, chirpIm, kernRe, kernIm } = b;
    aRe.fill(0);
    aIm.fill(0);
    for (let k = 0; k < n; k++) {
      const xr = re[k]!;
      const xi = im[k]!;
      aRe[k] = xr * chirpRe[k]! - xi * chirpIm[k]!;
      aIm[k] = xr * chirpIm[k]! + xi * chirpRe[k]!;
    }
    b.m.forward(aRe, aIm);
    for (let k = 0; k < b.m.n; k++) {
      const xr = aRe[k]!;
      const xi = aIm[k]!;
      aRe[k] = xr * kernRe[k]! - xi * kernIm[k]!;
      aIm[k] = xr * kernIm[k]! + xi * kernRe[k]!;
    }
    b.m.inverse(aRe, aIm);
    for (let k = 0; k < n; k++) {
      const xr = aRe[k]!;
      const xi = aIm[k]!;
      re[k] = xr * chirpRe[k]! - xi * chirpIm[k]!;
      im[k] = xr * chirpIm[k]! + xi * chirpRe[k]!;
    }
  }
}

// Stage kernels. Input element (q, p, j) sits at q + s·(p + j·m); output
// (q, p, k) at q + s·(r·p + k), multiplied by the twiddle e^{-2πi·p·k/n}.

function radix2(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { s, twRe, twIm } = st;
  const m = st.n / 2;
  for (let p = 0; p < m; p++) {
    const wr = twRe[2 * p + 1]!;
    const wi = twIm[2 * p + 1]!;
    const i0 = s * p;
    const i1 = s * (p + m);
    const o0 = s * 2 * p;
    const o1 = o0 + s;
    for (let q = 0; q < s; q++) {
      const ar = xr[i0 + q]!, ai = xi[i0 + q]!;
      const br = xr[i1 + q]!, bi = xi[i1 + q]!;
      yr[o0 + q] = ar + br;
      yi[o0 + q] = ai + bi;
      const dr = ar - br, di = ai - bi;
      yr[o1 + q] = dr * wr - di * wi;
      yi[o1 + q] = dr * wi + di * wr;
    }
  }
}

function radix4(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { s, twRe, twIm } = st;
  const m = st.n / 4;
  for (let p = 0; p < m; p++) {
    const w1r = twRe[4 * p + 1]!, w1i = twIm[4 * p + 1]!;
    const w2r = twRe[4 * p + 2]!, w2i = twIm[4 * p + 2]!;
    const w3r = twRe[4 * p + 3]!, w3i = twIm[4 * p + 3]!;
    const i0 = s * p, i1 = s * (p + m), i2 = s * (p + 2 * m), i3 = s * (p + 3 * m);
    const o0 = s * 4 * p, o1 = o0 + s, o2 = o1 + s, o3 = o2 + s;
    for (let q = 0; q < s; q++) {
      const ar = xr[i0 + q]!, ai = xi[i0 + q]!;
      const br = xr[i1 + q]!, bi = xi[i1 + q]!;
      const cr = xr[i2 + q]!, ci = xi[i2 + q]!;
      const dr = xr[i3 + q]!, di = xi[i3 + q]!;
      const t0r = ar + cr, t0i = ai + ci;
      const t1r = ar - cr, t1i = ai - ci;
      const t2r = br + dr, t2i = bi + di;
      // (b - d)·(-i)
      const t3r = bi - di, t3i = dr - br;
      yr[o0 + q] = t0r + t2r;
      yi[o0 + q] = t0i + t2i;
      let ur = t1r + t3r, ui = t1i + t3i;
      yr[o1 + q] = ur * w1r - ui * w1i;
      yi[o1 + q] = ur * w1i + ui * w1r;
      ur = t0r - t2r;
      ui = t0i - t2i;
      yr[o2 + q] = ur * w2r - ui * w2i;
      yi[o2 + q] = ur * w2i + ui * w2r;
      ur = t1r - t3r;
      ui = t1i - t3i;
      yr[o3 + q] = ur * w3r - ui * w3i;
      yi[o3 + q] = ur * w3i + ui * w3r;
    }
  }
}

const C3 = -0.5;
const S3 = -Math.sqrt(3) / 2;

function radix3(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { s, twRe, twIm } = st;
  const m = st.n / 3;
  for (let p = 0; p < m; p++) {
    const w1r = twRe[3 * p + 1]!, w1i = twIm[3 * p + 1]!;
    const w2r = twRe[3 * p + 2]!, w2i = twIm[3 * p + 2]!;
    const i0 = s * p, i1 = s * (p + m), i2 = s * (p + 2 * m);
    const o0 = s * 3 * p, o1 = o0 + s, o2 = o1 + s;
    for (let q = 0; q < s; q++) {
      const ar = xr[i0 + q]!, ai = xi[i0 + q]!;
      const br = xr[i1 + q]!, bi = xi[i1 + q]!;
      const cr = xr[i2 + q]!, ci = xi[i2 + q]!;
      const sr = br + cr, si = bi + ci;
      const dr = br - cr, di = bi - ci;
      yr[o0 + q] = ar + sr;
      yi[o0 + q] = ai + si;
      const mr = ar + C3 * sr, mi = ai + C3 * si;
      // ±i·S3·(b - c)
      const jr = -S3 * di, ji = S3 * dr;
      let ur = mr + jr, ui = mi + ji;
      yr[o1 + q] = ur * w1r - ui * w1i;
      yi[o1 + q] = ur * w1i + ui * w1r;
      ur = mr - jr;
      ui = mi - ji;
      yr[o2 + q] = ur * w2r - ui * w2i;
      yi[o2 + q] = ur * w2i + ui * w2r;
    }
  }
}

const C51 = Math.cos((2 * Math.PI) / 5);
const C52 = Math.cos((4 * Math.PI) / 5);
const S51 = -Math.sin((2 * Math.PI) / 5);
const S52 = -Math.sin((4 * Math.PI) / 5);

function radix5(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { s, twRe, twIm } = st;
  const m = st.n / 5;
  for (let p = 0; p < m; p++) {
    const i0 = s * p, i1 = s * (p + m), i2 = s * (p + 2 * m), i3 = s * (p + 3 * m), i4 = s * (p + 4 * m);
    const o = s * 5 * p;
    for (let q = 0; q < s; q++) {
      const ar = xr[i0 + q]!, ai = xi[i0 + q]!;
      const b1r = xr[i1 + q]! + xr[i4 + q]!, b1i = xi[i1 + q]! + xi[i4 + q]!;
      const d1r = xr[i1 + q]! - xr[i4 + q]!, d1i = xi[i1 + q]! - xi[i4 + q]!;
      const b2r = xr[i2 + q]! + xr[i3 + q]!, b2i = xi[i2 + q]! + xi[i3 + q]!;
      const d2r = xr[i2 + q]! - xr[i3 + q]!, d2i = xi[i2 + q]! - xi[i3 + q]!;
      yr[o + q] = ar + b1r + b2r;
      yi[o + q] = ai + b1i + b2i;
      const m1r = ar + C51 * b1r + C52 * b2r, m1i = ai + C51 * b1i + C52 * b2i;
      const m2r = ar + C52 * b1r + C51 * b2r, m2i = ai + C52 * b1i + C51 * b2i;
      // i·(S51·d1 + S52·d2) and i·(S52·d1 - S51·d2)
      const n1r = -(S51 * d1i + S52 * d2i), n1i = S51 * d1r + S52 * d2r;
      const n2r = -(S52 * d1i - S51 * d2i), n2i = S52 * d1r - S51 * d2r;
      const w1r = twRe[5 * p + 1]!, w1i = twIm[5 * p + 1]!;
      const w2r = twRe[5 * p + 2]!, w2i = twIm[5 * p + 2]!;
      const w3r = twRe[5 * p + 3]!, w3i = twIm[5 * p + 3]!;
      const w4r = twRe[5 * p + 4]!, w4i = twIm[5 * p + 4]!;
      let ur = m1r + n1r, ui = m1i + n1i;
      yr[o + s + q] = ur * w1r - ui * w1i;
      yi[o + s + q] = ur * w1i + ui * w1r;
      ur = m2r + n2r;
      ui = m2i + n2i;
      yr[o + 2 * s + q] = ur * w2r - ui * w2i;
      yi[o + 2 * s + q] = ur * w2i + ui * w2r;
      ur = m2r - n2r;
      ui = m2i - n2i;
      yr[o + 3 * s + q] = ur * w3r - ui * w3i;
      yi[o + 3 * s + q] = ur * w3i + ui * w3r;
      ur = m1r - n1r;
      ui = m1i - n1i;
      yr[o + 4 * s + q] = ur * w4r - ui * w4i;
      yi[o + 4 * s + q] = ur * w4i + ui * w4r;
    }
  }
}

function radixGeneric(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { s, twRe, twIm, radix: r } = st;
  const m = st.n / r;
  const cr = new Float64Array(r);
  const ci = new Float64Array(r);
  for (let j = 0; j < r; j++) {
    cr[j] = Math.cos((-2 * Math.PI * j) / r);
    ci[j] = Math.sin((-2 * Math.PI * j) / r);
  }
  for (let p = 0; p < m; p++) {
    for (let q = 0; q < s; q++) {
      for (let k = 0; k < r; k++) {
        let sr = 0;
        let si = 0;
        for (let j = 0; j < r; j++) {
          const idx = (j * k) % r;
          const vr = xr[q + s * (p + j * m)]!;
          const vi = xi[q + s * (p + j * m)]!;
          sr += vr * cr[idx]! - vi * ci[idx]!;
          si += vr * ci[idx]! + vi * cr[idx]!;
        }
        const wr = twRe[r * p + k]!, wi = twIm[r * p + k]!;
        yr[q + s * (r * p + k)] = sr * wr - si * wi;
        yi[q + s * (r * p + k)] = sr * wi + si * wr;
      }
    }
  }
}

const planCache = new Map<number, FftPlan>();

/** A cached plan for length n (plans hold scratch buffers: use from one thread). */
export function fftPlan(n: number): FftPlan {
  let p = planCache.get(n);
  if (!p) {
    if (planCache.size > 32) planCache.clear();
    p = new FftPlan(n);
    planCache.set(n, p);
  }
  return p;
}
