import * as tf from "@tensorflow/tfjs";
import { ShapeError } from "../../errors.js";
import { rng } from "../../engine/random.js";
import { Module, ModuleList } from "../../nn/module.js";
import { DerivedWeights, type DerivedHolder } from "./derived.js";

/** Options of the EMA codebook (defaults are the official ones). */
export interface CodebookOptions {
  /** EMA decay of counts and sums (0.99). */
  decay?: number;
  /** Laplace smoothing of the counts (1e-6). */
  eps?: number;
  /** Codes whose EMA count falls below this are replaced by batch vectors (2). */
  deadCodeThreshold?: number;
  /** Lloyd iterations of the k-means initialisation (10). */
  kmeansIters?: number;
  /** Vectors sampled for the k-means initialisation (4096). */
  kmeansSamples?: number;
}

/** Result of one codebook lookup. */
export interface CodebookLookup {
  /** Chosen code per vector, int32 [M]. */
  indices: tf.Tensor;
  /** Codeword per vector [M, D] (no gradient path). */
  quantized: tf.Tensor;
}

/**
 * Euclidean codebook with EMA updates (buffers `embed` [K, D], `embed_avg`
 * [K, D], `cluster_size` [K], `inited` [1]); it has no trainable parameters.
 * Lookup is argmin of ‖x‖² − 2·x·e + ‖e‖² (first index on ties, as torch).
 */
export class EuclideanCodebook extends Module<[tf.Tensor], CodebookLookup> implements DerivedHolder {
  readonly embed: tf.Variable;
  readonly derived = new DerivedWeights();
  readonly embedAvg: tf.Variable;
  readonly clusterSize: tf.Variable;
  readonly inited: tf.Variable;
  readonly decay: number;
  readonly eps: number;
  readonly deadCodeThreshold: number;
  readonly kmeansIters: number;
  readonly kmeansSamples: number;
  /**
   * What k-means leaves in `embed_avg`: `official` copies the centres (as the
   * BrainOmni code does), so the first EMA step divides each centre by its
   * count and the codebook collapses towards the smallest codeword until dead
   * codes are reset; `scaled` stores centre × count, consistent with the EMA
   * (vector-quantize-pytorch's later behaviour). Training only.
   */
  emaInit: "official" | "scaled" = "official";
  private lastUsed = 0;

  constructor(readonly dim: number, readonly codebookSize: number, opts: CodebookOptions = {}) {
    super();
    this.decay = opts.decay ?? 0.99;
    this.eps = opts.eps ?? 1e-6;
    this.deadCodeThreshold = opts.deadCodeThreshold ?? 2;
    this.kmeansIters = opts.kmeansIters ?? 10;
    this.kmeansSamples = opts.kmeansSamples ?? 4096;
    this.embed = this.registerBuffer("embed", tf.zeros([codebookSize, dim]));
    this.embedAvg = this.registerBuffer("embed_avg", tf.zeros([codebookSize, dim]));
    this.clusterSize = this.registerBuffer("cluster_size", tf.zeros([codebookSize]));
    this.inited = this.registerBuffer("inited", tf.zeros([1]));
  }

  /** True once k-means has run or a checkpoint set `inited` = 1. */
  isInitialised(): boolean {
    return this.inited.dataSync()[0]! > 0;
  }

  /** Nearest codeword of each row of `x` [M, D]. */
  forward(x: tf.Tensor): CodebookLookup {
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new ShapeError("codebook input", ["M", this.dim], x.shape);
    return tf.tidy(() => {
      const indices = this.training ? nearest(x, this.embed) : nearestTo(x, this.embedT(), this.embedSq());
      return { indices, quantized: tf.gather(this.embed, indices) };
    });
  }

  /** embedᵀ [D, K], kept in eval (rebuilt whenever `embed` is assigned: k-means, EMA, loading). */
  private embedT(): tf.Tensor {
    return this.derived.get("embedT", [this.embed], () => tf.transpose(this.embed));
  }

  /** ‖e‖² per codeword as a row [1, K], kept like `embedT`. */
  private embedSq(): tf.Tensor {
    return this.derived.get("embedSq", [this.embed], () => squaredNorms(this.embed));
  }

  prepareDerived(): void {
    this.embedT();
    this.embedSq();
  }

  /**
   * k-means initialisation (`inited` = 0 only): Lloyd iterations starting from
   * randomly drawn rows of `x` [M, D], on at most `kmeansSamples` rows. Empty
   * clusters keep their previous centre. Sets embed, embed_avg, cluster_size, inited.
   */
  kmeansInit(x: tf.Tensor): void {
    const M = x.shape[0]!;
    const K = this.codebookSize;
    const r = rng();
    const data = tf.tidy(() => (M > this.kmeansSamples ? tf.gather(x, tf.tensor1d(sampleIndices(M, this.kmeansSamples, r), "int32")) : x.clone()));
    const n = data.shape[0]!;
    let means = tf.tidy(() => tf.gather(data, tf.tensor1d(sampleIndices(n, K, r), "int32")));
    let counts = tf.zeros([K]);
    for (let it = 0; it < this.kmeansIters; it++) {
      const next = tf.tidy(() => {
        const idx = nearest(data, means);
        const onehot = tf.oneHot(idx, K).toFloat();
        const bins = tf.sum(onehot, 0);
        const sums = tf.matMul(onehot, data, true, false);
        const empty = tf.equal(bins, 0).expandDims(1);
        const m = tf.where(empty, means, tf.div(sums, tf.maximum(bins, 1).expandDims(1)));
        return [m, bins] as const;
      });
      means.dispose();
      counts.dispose();
      [means, counts] = next;
    }
    this.embed.assign(means);
    this.embedAvg.assign(this.emaInit === "scaled" ? tf.tidy(() => tf.mul(means, counts.expandDims(1))) : means);
    this.clusterSize.assign(counts);
    this.inited.assign(tf.ones([1]));
    means.dispose();
    counts.dispose();
    data.dispose();
  }

  /**
   * One EMA step from the vectors `x` [M, D] and their codes, then dead-code
   * reset: codes whose EMA count is below the threshold get random rows of
   * `x` (embed_avg = row · threshold, cluster_size = threshold).
   */
  emaUpdate(x: tf.Tensor, indices: tf.Tensor): void {
    const K = this.codebookSize;
    this.lastUsed = new Set(indices.dataSync() as Int32Array).size / K;
    const d = this.decay;
    tf.tidy(() => {
      const onehot = tf.oneHot(indices, K).toFloat();
      const cs = tf.add(tf.mul(this.clusterSize, d), tf.mul(tf.sum(onehot, 0), 1 - d));
      const avg = tf.add(tf.mul(this.embedAvg, d), tf.mul(tf.matMul(onehot, x, true, false), 1 - d));
      const total = tf.sum(cs);
      const smoothed = tf.mul(tf.div(tf.add(cs, this.eps), tf.add(total, K * this.eps)), total);
      this.clusterSize.assign(cs);
      this.embedAvg.assign(avg);
      this.embed.assign(tf.div(avg, smoothed.expandDims(1)));
    });
    this.expireDeadCodes(x);
  }

  private expireDeadCodes(x: tf.Tensor): void {
    if (this.deadCodeThreshold <= 0) return;
    const sizes = this.clusterSize.dataSync();
    const dead: number[] = [];
    sizes.forEach((s, i) => {
      if (s < this.deadCodeThreshold) dead.push(i);
    });
    if (dead.length === 0) return;
    const M = x.shape[0]!;
    const r = rng();
    const rows = M >= dead.length ? sampleIndices(M, dead.length, r) : dead.map(() => r.int(M));
    tf.tidy(() => {
      const picked = tf.gather(x, tf.tensor1d(rows, "int32"));
      const where = tf.tensor1d(dead, "int32");
      const mask = tf.scatterND(where.expandDims(1), tf.ones([dead.length]), [this.codebookSize]).expandDims(1);
      const full = tf.scatterND(where.expandDims(1), picked, [this.codebookSize, this.dim]);
      const t = this.deadCodeThreshold;
      this.embed.assign(tf.add(tf.mul(this.embed, tf.sub(1, mask)), full));
      this.embedAvg.assign(tf.add(tf.mul(this.embedAvg, tf.sub(1, mask)), tf.mul(full, t)));
      this.clusterSize.assign(tf.add(tf.mul(this.clusterSize, tf.sub(1, mask.squeeze([1]))), tf.mul(mask.squeeze([1]), t)));
    });
  }

  /** Fraction of the codes chosen at least once in the last training batch (before dead-code reset). */
  usage(): number {
    return this.lastUsed;
  }
}

/**
 * argmin over codewords of the squared Euclidean distance, int32 [M]. The
 * result is rebuilt from host values so that it is not on the gradient tape
 * (tfjs would otherwise ask `gather` for an integer gradient).
 */
function nearest(x: tf.Tensor, embed: tf.Tensor): tf.Tensor {
  return tf.tidy(() => nearestTo(x, tf.transpose(embed), squaredNorms(embed)));
}

/** ‖e‖² of each row of `embed` [K, D], as a row [1, K]. */
function squaredNorms(embed: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sum(tf.square(embed), 1).expandDims(0));
}

/** `nearest` from embedᵀ [D, K] and ‖e‖² [1, K]. */
function nearestTo(x: tf.Tensor, embedT: tf.Tensor, embedSq: tf.Tensor): tf.Tensor {
  const idx = tf.tidy(() => {
    const dist = tf.add(tf.sub(tf.sum(tf.square(x), 1, true), tf.mul(tf.matMul(x, embedT), 2)), embedSq);
    return tf.argMin(dist, 1);
  });
  const host = idx.dataSync() as Int32Array;
  idx.dispose();
  return tf.tensor1d(host, "int32");
}

/** `n` distinct indices in [0, total) (all of them, shuffled, when n ≥ total). */
function sampleIndices(total: number, n: number, r: ReturnType<typeof rng>): number[] {
  const idx = Array.from({ length: total }, (_, i) => i);
  for (let i = total - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  if (n <= total) return idx.slice(0, n);
  return Array.from({ length: n }, (_, i) => idx[i % total]!);
}

/** `VectorQuantization`: one level, holding `_codebook`. */
export class VectorQuantization extends Module<[tf.Tensor], CodebookLookup> {
  readonly codebook: EuclideanCodebook;
  constructor(dim: number, codebookSize: number, opts: CodebookOptions = {}) {
    super();
    this.codebook = this.registerModule("_codebook", new EuclideanCodebook(dim, codebookSize, opts));
  }
  forward(x: tf.Tensor): CodebookLookup {
    return this.codebook.call(x);
  }
}

/** Output of the residual quantizer. */
export interface RvqOutput {
  /** Sum of the Q codewords (straight-through / rotation-trick gradient to the input in training), input shape. */
  quantized: tf.Tensor;
  /** int32 [..., Q] */
  indices: tf.Tensor;
  /** Mean over levels of 0.25·MSE(residual, sg(codeword)), scalar. */
  commitLoss: tf.Tensor;
  /** Per level: residual entering it and its codewords (for inspection and parity). */
  levels: { residual: tf.Tensor; quantized: tf.Tensor; loss: tf.Tensor }[];
}

/** Options of `BrainQuantizer`. */
export interface QuantizerOptions extends CodebookOptions {
  /** Rotation trick (Fifty et al. 2024) as the training gradient; else straight-through (default true). */
  rotationTrick?: boolean;
  /** Commitment weight β (0.25). */
  commitmentWeight?: number;
}

/**
 * `BrainQuantizer` → `rvq.layers.{q}._codebook`: L2-normalises the input over
 * the last axis, then Q residual Euclidean VQ levels. In training mode the
 * codebooks are k-means-initialised on first use, EMA-updated after the
 * choice and dead codes re-sampled; eval mode only looks codes up (except
 * that an uninitialised codebook is k-means-initialised even in eval, as upstream).
 */
export class BrainQuantizer extends Module<[tf.Tensor], RvqOutput> {
  readonly rvq: RvqHolder;
  readonly rotationTrick: boolean;
  readonly commitmentWeight: number;
  constructor(readonly dim: number, readonly codebookSize: number, readonly numQuantizers: number, opts: QuantizerOptions = {}) {
    super();
    this.rotationTrick = opts.rotationTrick ?? true;
    this.commitmentWeight = opts.commitmentWeight ?? 0.25;
    this.rvq = this.registerModule("rvq", new RvqHolder(dim, codebookSize, numQuantizers, opts));
  }

  /** The Q codebooks in level order. */
  codebooks(): EuclideanCodebook[] {
    return this.rvq.layers.items.map((l) => l.codebook);
  }

  /**
   * @param z [..., D] latent vectors
   * Returned tensors are new; the caller disposes them (including `levels`).
   */
  forward(z: tf.Tensor): RvqOutput {
    if (z.shape[z.rank - 1] !== this.dim) throw new ShapeError("quantizer input", ["...", this.dim], z.shape);
    const shape = z.shape;
    const out = tf.tidy(() => {
      let residual = l2normalize(z.reshape([-1, this.dim]), 1e-12);
      const levels: RvqOutput["levels"] = [];
      const idx: tf.Tensor[] = [];
      let total: tf.Tensor | null = null;
      for (const vq of this.rvq.layers.items) {
        const cb = vq.codebook;
        const r = residual;
        const rd = detach(r);
        if (!cb.isInitialised()) cb.kmeansInit(rd);
        const { indices, quantized } = vq.call(rd);
        const loss = tf.mul(tf.mean(tf.square(tf.sub(r, quantized))), this.commitmentWeight);
        let q: tf.Tensor;
        if (!this.training) q = quantized;
        else if (this.rotationTrick) q = rotateTo(r, quantized);
        else q = tf.add(r, detach(tf.sub(quantized, r)));
        if (this.training) cb.emaUpdate(rd, indices);
        levels.push({ residual: r.reshape(shape), quantized: quantized.reshape(shape), loss });
        idx.push(indices);
        total = total ? tf.add(total, q) : q;
        residual = tf.sub(r, quantized);
      }
      return {
        quantized: total!.reshape(shape),
        indices: tf.stack(idx, 1).reshape([...shape.slice(0, -1), this.numQuantizers]),
        commitLoss: tf.mean(tf.stack(levels.map((l) => l.loss))),
        levels,
      } as unknown as tf.TensorContainer;
    });
    return out as unknown as RvqOutput;
  }
}

/** Holds `layers` (named as the official `rvq` attribute). */
export class RvqHolder extends Module<[], never> {
  readonly layers: ModuleList<VectorQuantization>;
  constructor(dim: number, codebookSize: number, numQuantizers: number, opts: CodebookOptions) {
    super();
    this.layers = this.registerModule("layers", new ModuleList(Array.from({ length: numQuantizers }, () => new VectorQuantization(dim, codebookSize, opts))));
  }
  forward(): never {
    throw new ShapeError("rvq has no forward of its own; call BrainQuantizer", [], []);
  }
}

/** `F.normalize(x, dim=-1, eps)`: x / max(‖x‖, eps). */
export function l2normalize(x: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, "euclidean", -1, true), eps)));
}

/**
 * Rotation trick: the value is the codeword `e`, the gradient reaches `x`
 * through the fixed rotation-and-scale that maps x onto e:
 * q = λ·(x − 2·r(r·x) + 2·ê(x̂·x)), r = normalise(x̂ + ê), λ = ‖e‖/‖x‖, all but x detached.
 */
export function rotateTo(x: tf.Tensor, e: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const xs = detach(x);
    const nx = tf.maximum(tf.norm(xs, "euclidean", -1, true), 1e-12);
    const ne = tf.maximum(tf.norm(e, "euclidean", -1, true), 1e-12);
    const xh = tf.div(xs, nx);
    const eh = tf.div(e, ne);
    const r = detach(l2normalize(tf.add(xh, eh), 1e-12));
    const lambda = detach(tf.div(ne, nx));
    const rx = tf.sum(tf.mul(r, x), -1, true);
    const xx = tf.sum(tf.mul(xh, x), -1, true);
    return tf.mul(lambda, tf.add(tf.sub(x, tf.mul(r, tf.mul(rx, 2))), tf.mul(eh, tf.mul(xx, 2))));
  });
}

/**
 * Identity whose gradient is zero (`tensor.detach()`). BrainOmni-local: the
 * engine has no stop-gradient op yet; replace by it when one lands.
 */
export function detach(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: (args[0] as tf.Tensor).clone(),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return op(x);
}
