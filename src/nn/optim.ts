import * as tf from "@tensorflow/tfjs";
import { adamStepFused } from "../engine/fused.js";
import { ValueError } from "../errors.js";
import type { HostTensor } from "./module.js";

/** What an optimiser saves to resume: step count, learning rate, slot tensors by `<param>.<slot>`. */
export interface OptimizerState {
  stepCount: number;
  lr: number;
  slots: Map<string, HostTensor>;
}

/** Gradients keyed by `tf.Variable.name`, as `tf.variableGrads` returns them. */
export type Grads = Record<string, tf.Tensor>;

/** Shared state of the optimisers: the parameters and a per-parameter slot store. */
abstract class Optimizer {
  /** Learning rate used by the next `step()` (set it from a schedule). */
  lr: number;
  /** Number of `step()` calls so far. */
  stepCount = 0;
  protected readonly slots = new Map<string, tf.Variable[]>();

  constructor(readonly params: tf.Variable[], lr: number) {
    if (!(lr >= 0)) throw new ValueError(`learning rate must be ≥ 0, got ${lr}`);
    this.lr = lr;
  }

  /** Slot variables of `p` (created as zeros on first use). */
  protected slot(p: tf.Variable, n: number): tf.Variable[] {
    let s = this.slots.get(p.name);
    if (!s) {
      s = Array.from({ length: n }, () => tf.variable(tf.zerosLike(p), false));
      this.slots.set(p.name, s);
    }
    return s;
  }

  /**
   * Updates every parameter that has a gradient in `grads` (frozen ones are
   * skipped). Does not dispose `grads`.
   */
  step(grads: Grads): void {
    this.stepCount++;
    for (const p of this.params) {
      const g = grads[p.name];
      if (!g || !p.trainable) continue;
      tf.tidy(() => this.update(p, g));
    }
  }

  protected abstract update(p: tf.Variable, g: tf.Tensor): void;

  /**
   * The state to save for resuming: the step count, the learning rate and
   * every slot tensor as `<parameter name>.<slot index>`. `names` gives each
   * parameter's dotted module name (`Module.namedParameters()`), because
   * `tf.Variable` names differ from one process to the next.
   */
  stateDict(names: ReadonlyMap<tf.Variable, string>): OptimizerState {
    const slots = new Map<string, HostTensor>();
    for (const p of this.params) {
      const s = this.slots.get(p.name);
      const name = names.get(p);
      if (!s || name === undefined) continue;
      s.forEach((v, i) => slots.set(`${name}.${i}`, { shape: [...v.shape], dtype: "float32", data: v.dataSync() as Float32Array }));
    }
    return { stepCount: this.stepCount, lr: this.lr, slots };
  }

  /** Restores what `stateDict` saved (same parameters, same names). */
  loadStateDict(state: OptimizerState, names: ReadonlyMap<tf.Variable, string>): void {
    this.stepCount = state.stepCount;
    this.lr = state.lr;
    for (const p of this.params) {
      const name = names.get(p);
      if (name === undefined) continue;
      const saved: HostTensor[] = [];
      for (let i = 0; state.slots.has(`${name}.${i}`); i++) saved.push(state.slots.get(`${name}.${i}`)!);
      if (saved.length === 0) continue;
      for (const t of saved) {
        if (t.shape.join() !== p.shape.join()) throw new ValueError(`optimizer state for ${name} has shape [${t.shape}], parameter has [${p.shape}]`);
      }
      this.slots.get(p.name)?.forEach((v) => v.dispose());
      this.slots.set(p.name, saved.map((t) => tf.variable(tf.tensor(t.data, t.shape, "float32"), false)));
    }
  }

  /** Frees the optimiser's state. */
  dispose(): void {
    for (const s of this.slots.values()) s.forEach((v) => v.dispose());
    this.slots.clear();
  }
}

/** Options of `Adam` / `AdamW` (PyTorch defaults). */
export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** L2 penalty for Adam (added to the gradient), decoupled decay for AdamW. */
  weightDecay?: number;
}

/**
 * Adam as `torch.optim.Adam`: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
 * p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + eps). Weight decay is added to the gradient.
 */
export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  protected decoupled = false;

  constructor(params: tf.Variable[], opts: AdamOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  protected update(p: tf.Variable, g0: tf.Tensor): void {
    const [b1, b2] = this.betas;
    const [m, v] = this.slot(p, 2) as [tf.Variable, tf.Variable];
    const attrs = { lr: this.lr, beta1: b1, beta2: b2, eps: this.eps, weightDecay: this.weightDecay, decoupled: this.decoupled, step: this.stepCount };
    const fused = adamStepFused(p, g0, m, v, attrs);
    if (fused) {
      p.assign(fused[0]);
      m.assign(fused[1]);
      v.assign(fused[2]);
      return;
    }
    let g = g0;
    if (this.weightDecay) {
      if (this.decoupled) p.assign(tf.mul(p, 1 - this.lr * this.weightDecay));
      else g = tf.add(g, tf.mul(p, this.weightDecay));
    }
    m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
    v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
    const t = this.stepCount;
    const stepSize = this.lr / (1 - b1 ** t);
    const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(1 - b2 ** t)), this.eps);
    p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
  }
}

/**
 * AdamW as `torch.optim.AdamW`: Adam with decoupled weight decay
 * p ← p·(1 − lr·λ) before the Adam update. Default λ = 0.01.
 */
export class AdamW extends Adam {
  constructor(params: tf.Variable[], opts: AdamOptions = {}) {
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 0.01 });
    this.decoupled = true;
  }
}

/** Options of `SGD` (PyTorch defaults). */
export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * SGD as `torch.optim.SGD`: g ← g + λp; b ← g on the first step, then
 * μb + (1−τ)g; g ← g + μb (Nesterov) or b; p ← p − lr·g.
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: tf.Variable[], opts: SGDOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new ValueError("Nesterov momentum needs momentum > 0 and zero dampening");
  }

  protected update(p: tf.Variable, g0: tf.Tensor): void {
    let g = this.weightDecay ? tf.add(g0, tf.mul(p, this.weightDecay)) : g0;
    if (this.momentum) {
      // The first step copies the gradient into the buffer (torch); a restored buffer is not first.
      const first = !this.slots.has(p.name);
      const [buf] = this.slot(p, 1) as [tf.Variable];
      if (first) buf.assign(g);
      else buf.assign(tf.add(tf.mul(buf, this.momentum), tf.mul(g, 1 - this.dampening)));
      g = this.nesterov ? tf.add(g, tf.mul(buf, this.momentum)) : buf;
    }
    p.assign(tf.sub(p, tf.mul(g, this.lr)));
  }
}

/**
 * Scales all gradients in place so that their global L2 norm is at most
 * `maxNorm`, as `torch.nn.utils.clip_grad_norm_` (coefficient
 * min(1, maxNorm/(norm + 1e-6))). Replaced tensors are disposed.
 * @returns the global norm before clipping.
 */
export function clipGradNorm(grads: Grads, maxNorm: number): number {
  const names = Object.keys(grads);
  if (!names.length) return 0;
  const total = tf.tidy(() => tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!))))).dataSync()[0]!);
  if (!Number.isFinite(total)) throw new ValueError(`gradient norm is ${total}`);
  const coef = Math.min(1, maxNorm / (total + 1e-6));
  if (coef < 1) {
    for (const n of names) {
      const old = grads[n]!;
      grads[n] = tf.mul(old, coef);
      old.dispose();
    }
  }
  return total;
}

/** Options of `warmupCosine`. */
export interface WarmupCosineOptions {
  /** Peak learning rate reached at the end of warm-up. */
  baseLr: number;
  /** Steps of linear warm-up from baseLr/warmupSteps to baseLr (default 0). */
  warmupSteps?: number;
  /** Step at which the cosine reaches `minLr`; later steps stay at `minLr`. */
  totalSteps: number;
  /** Final learning rate (default 0). */
  minLr?: number;
}

/**
 * Learning rate at 0-based `step`: linear warm-up lr = baseLr·(step+1)/warmup,
 * then half a cosine from baseLr down to minLr at `totalSteps`.
 */
export function warmupCosine(opts: WarmupCosineOptions): (step: number) => number {
  const warm = opts.warmupSteps ?? 0;
  const minLr = opts.minLr ?? 0;
  const decay = Math.max(1, opts.totalSteps - warm);
  return (step) => {
    if (step < warm) return (opts.baseLr * (step + 1)) / warm;
    const progress = Math.min(1, (step - warm) / decay);
    return minLr + 0.5 * (opts.baseLr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

/**
 * Exponential moving average of parameters: shadow ← d·shadow + (1−d)·param
 * on each `update()`; `copyTo()` writes the averages into the parameters.
 */
export class EMA {
  private readonly shadow: tf.Variable[];
  constructor(readonly params: tf.Variable[], readonly decay = 0.999) {
    if (!(decay >= 0 && decay <= 1)) throw new ValueError(`EMA decay must be in [0, 1], got ${decay}`);
    this.shadow = params.map((p) => tf.variable(p.clone(), false));
  }
  /** Folds the current parameter values into the averages. */
  update(): void {
    tf.tidy(() => this.params.forEach((p, i) => this.shadow[i]!.assign(tf.add(tf.mul(this.shadow[i]!, this.decay), tf.mul(p, 1 - this.decay)))));
  }
  /** The averaged values, in parameter order (live variables; do not dispose). */
  averages(): tf.Variable[] {
    return this.shadow;
  }
  /** Overwrites the parameters with their averages. */
  copyTo(): void {
    this.params.forEach((p, i) => p.assign(this.shadow[i]!));
  }
  dispose(): void {
    this.shadow.forEach((s) => s.dispose());
  }
}
