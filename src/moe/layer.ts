import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError } from "../errors.js";
import type { ActivationName } from "../nn/functional.js";
import { Module } from "../nn/module.js";
import { groupedKernelsActive } from "../engine/grouped.js";
import { combineOutputs, dispatchRows, dispatchTokens, expertCapacity, groupPlan, oneHotFloat, planDispatch, type DispatchPlan } from "./dispatch.js";
import { ExpertFFN } from "./experts.js";
import { routerZLoss, switchAuxLoss } from "./losses.js";
import { Router, validateRouterOptions, type RouterScore, type Routing } from "./router.js";
import { emitAux, type MoEAuxSource, type AuxSink } from "./aux.js";

/** Options of `MoEFeedForward` (the fields of `ffn: { type: "moe", ... }`). */
export interface MoEOptions {
  /** Number of experts E. */
  experts: number;
  /** Experts per token k. Default 2. */
  topK?: number;
  /** Hidden width of each expert. */
  hidden: number;
  /** Training capacity factor: C = ceil(k·T/E · cf). `Infinity` = never drop. Default 1.25 (Switch). */
  capacityFactor?: number;
  /** Capacity factor in eval mode. Default 2.0 (Switch). */
  evalCapacityFactor?: number;
  /** Expert activation. Default `gelu` (`silu` when `glu`). */
  activation?: ActivationName;
  /** SwiGLU-style gated experts. Default false. */
  glu?: boolean;
  /** Expert biases. Default true. */
  bias?: boolean;
  /** Router score. Default `softmax`. */
  score?: RouterScore;
  /** Renormalise the top-k gates. Default true. */
  renormalize?: boolean;
  /** Noisy top-k routing in training. Default false. */
  noisy?: boolean;
  /** Switch router input jitter ε. Default 0. */
  jitter?: number;
  /** α of the switch load-balancing loss. Default 0.01 (Switch Transformer). */
  auxLossCoef?: number;
  /** β of the router z-loss. Default 0.001 (ST-MoE). */
  zLossCoef?: number;
  /** Hidden width of an always-on shared expert (DeepSeekMoE, AdaMoE's general expert, Dense2MoE); 0 = none. Default 0. */
  sharedHidden?: number;
  /** Output = routedScale·routed + sharedScale·shared. Defaults 1 and 1 (AdaMoE uses 0.5 and 0.5). */
  routedScale?: number;
  sharedScale?: number;
  /**
   * Expert FFN serving each router choice (length `experts`), after MC-SMoE
   * merging bound several choices to one expert. The layer then holds
   * `max(expertMap) + 1` expert FFNs. Default: the identity.
   */
  expertMap?: readonly number[];
}

/** Per-expert load of one forward (tensors owned by the caller). */
// A type alias (not an interface) so that it is a `tf.TensorContainer` and can leave a `tf.tidy`.
export type MoELoad = {
  /** [E] assignments routed to each expert (before capacity). */
  routed: tf.Tensor1D;
  /** [E] assignments each expert processed (after capacity). */
  kept: tf.Tensor1D;
  /** [E] mean router probability of each expert. */
  meanProb: tf.Tensor1D;
  /** Scalar: share of the T·k assignments dropped by the capacity limit. */
  droppedFraction: tf.Scalar;
};

/** Everything one MoE forward produces. */
export interface MoEOutput {
  /** Same shape as the input. */
  output: tf.Tensor;
  /** α·switch + β·z, ready to add to the task loss. */
  loss: tf.Scalar;
  /** Unscaled switch load-balancing loss (1 = uniform). */
  switchLoss: tf.Scalar;
  /** Unscaled router z-loss. */
  zLoss: tf.Scalar;
  load: MoELoad;
  /** Number of tokens T routed in this forward. */
  numTokens: number;
}

/**
 * Sparse mixture-of-experts feed-forward layer: router → static-shape capacity
 * dispatch → E experts (batched) → gated combine. A drop-in for a dense FFN:
 * `call(x)` maps [..., d] → [..., d] and hands its losses and load to an
 * active `collectMoEAux` scope; `forwardWithAux(x)` returns them directly.
 *
 * Children: `router` (`router.layer.weight` [E, d]), `experts` (`ExpertFFN`)
 * and, with `sharedHidden`, `shared` (a one-expert `ExpertFFN` every token uses).
 */
export class MoEFeedForward extends Module implements MoEAuxSource {
  readonly router: Router;
  readonly experts: ExpertFFN;
  readonly shared: ExpertFFN | null;
  readonly routedScale: number;
  readonly sharedScale: number;
  readonly capacityFactor: number;
  readonly evalCapacityFactor: number;
  readonly auxLossCoef: number;
  readonly zLossCoef: number;
  auxSink: AuxSink | null = null;
  /**
   * Run the experts on their filled slots only, packed expert after expert
   * (`groupPlan`), where the grouped kernels run (wasm): the same outputs and
   * gradients as the padded [E, C, d] slots without the capacity factor's
   * padding work. false: always the padded, static-shape layout. Default true.
   */
  packSlots = true;
  /** The options the layer was built with (defaults not filled in). */
  readonly options: Readonly<MoEOptions>;
  private readonly expertOf: Int32Array | null;
  /** Most router choices of one token that can land on one expert FFN (1 without merging). */
  private readonly choicesPerExpert: number;

  constructor(readonly dModel: number, opts: MoEOptions, path = "ffn") {
    super();
    this.options = { ...opts };
    const topK = opts.topK ?? 2;
    validateRouterOptions({ numExperts: opts.experts, topK, jitter: opts.jitter, score: opts.score }, path);
    const cf = opts.capacityFactor ?? 1.25;
    const ecf = opts.evalCapacityFactor ?? 2.0;
    if (!(cf > 0)) throw new ConfigError(`${path}.capacityFactor`, `must be > 0, got ${cf}`);
    if (!(ecf > 0)) throw new ConfigError(`${path}.evalCapacityFactor`, `must be > 0, got ${ecf}`);
    const sh = opts.sharedHidden ?? 0;
    if (!Number.isInteger(sh) || sh < 0) throw new ConfigError(`${path}.sharedHidden`, `must be an integer ≥ 0, got ${sh}`);
    // Checked before any parameter exists, so a bad config leaves no variables behind.
    this.expertOf = opts.expertMap ? checkExpertMap(opts.expertMap, opts.experts, `${path}.expertMap`) : null;
    this.capacityFactor = cf;
    this.evalCapacityFactor = ecf;
    this.auxLossCoef = opts.auxLossCoef ?? 0.01;
    this.zLossCoef = opts.zLossCoef ?? 0.001;
    this.router = this.registerModule(
      "router",
      new Router(dModel, { numExperts: opts.experts, topK, score: opts.score, renormalize: opts.renormalize, noisy: opts.noisy, jitter: opts.jitter }),
    );
    const numFfn = this.expertOf ? Math.max(...this.expertOf) + 1 : opts.experts;
    const groupSizes = Array.from({ length: numFfn }, (_, g) => (this.expertOf ? this.expertOf.filter((m) => m === g).length : 1));
    this.choicesPerExpert = Math.min(topK, Math.max(...groupSizes));
    this.experts = this.registerModule(
      "experts",
      new ExpertFFN({ numExperts: numFfn, dModel, hidden: opts.hidden, glu: opts.glu, bias: opts.bias, activation: opts.activation ?? (opts.glu ? "silu" : "gelu") }),
    );
    this.shared = sh
      ? this.registerModule("shared", new ExpertFFN({ numExperts: 1, dModel, hidden: sh, glu: opts.glu, bias: opts.bias, activation: this.experts.activationName }))
      : null;
    this.routedScale = opts.routedScale ?? 1;
    this.sharedScale = opts.sharedScale ?? 1;
  }

  /**
   * Weight of each selected expert, [T, k]. The router's gates by default;
   * AdaMoE overrides it to decouple weighting from selection.
   */
  protected expertWeights(_x: tf.Tensor2D, routing: Routing): tf.Tensor2D {
    return routing.gates;
  }

  /** The router→expert map (identity when none was set). */
  get expertMap(): Int32Array {
    return this.expertOf ? this.expertOf.slice() : Int32Array.from({ length: this.router.numExperts }, (_, i) => i);
  }

  /** @param x [..., d] → [..., d]; losses and load go to the active `collectMoEAux` scope, if any. */
  forward(x: tf.Tensor): tf.Tensor {
    const out = this.forwardWithAux(x);
    emitAux(this, out);
    return out.output;
  }

  /** @param x [..., d] → output, losses and per-expert load (all owned by the caller). */
  forwardWithAux(x: tf.Tensor): MoEOutput {
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.dModel) throw new ShapeError("MoEFeedForward input", ["...", this.dModel], x.shape);
    const numTokens = x.size / this.dModel;
    const out = tf.tidy(() => {
      const xs = tf.reshape(x, [-1, this.dModel]) as tf.Tensor2D;
      const r = this.router.call(xs);
      const numExperts = this.experts.numExperts;
      const idx = this.expertOf ? (tf.gather(tf.tensor1d(this.expertOf, "int32"), r.indices) as unknown as tf.Tensor2D) : r.indices;
      const cap = expertCapacity(numTokens, this.router.topK, numExperts, this.training ? this.capacityFactor : this.evalCapacityFactor, this.choicesPerExpert);
      const plan = planDispatch(idx, numExperts, cap);
      let y: tf.Tensor;
      if (this.packSlots && groupedKernelsActive()) {
        const rows = groupPlan(plan);
        y = combineOutputs(this.experts.call(dispatchRows(xs, rows), rows.counts), this.expertWeights(xs, r), rows);
      } else {
        y = combineOutputs(this.experts.call(dispatchTokens(xs, plan)), this.expertWeights(xs, r), plan);
      }
      if (this.routedScale !== 1) y = tf.mul(y, this.routedScale);
      if (this.shared) y = tf.add(y, tf.mul(tf.squeeze(this.shared.call(tf.expandDims(xs, 0) as tf.Tensor3D), [0]), this.sharedScale));
      return { output: tf.reshape(y, x.shape), ...routingAux(r, idx, plan, this.auxLossCoef, this.zLossCoef) };
    });
    return { ...out, numTokens };
  }
}

/**
 * Balancing losses and per-expert load of one routed forward.
 * @param idx [T, k] expert FFN of each assignment (after any expert map).
 */
export function routingAux(r: Routing, idx: tf.Tensor2D, plan: DispatchPlan, auxLossCoef: number, zLossCoef: number): Omit<MoEOutput, "output" | "numTokens"> {
  return tf.tidy(() => {
    const switchLoss = switchAuxLoss(r.probs, r.indices);
    const zLoss = routerZLoss(r.logits);
    const { routed, kept, keptMask } = loadCounts(idx, plan);
    return {
      loss: tf.add(tf.mul(switchLoss, auxLossCoef), tf.mul(zLoss, zLossCoef)) as tf.Scalar,
      switchLoss,
      zLoss,
      load: { routed, kept, meanProb: tf.mean(r.probs, 0) as tf.Tensor1D, droppedFraction: tf.sub(1, tf.mean(keptMask)) as tf.Scalar },
    };
  });
}

/**
 * Assignments routed to and kept by each expert, and the [T·k] kept mask
 * (float 0/1). On the host-memory backends counted in one pass over the host
 * copies (the same integers; ten fewer kernels per forward), elsewhere from
 * one-hot tensors.
 */
function loadCounts(idx: tf.Tensor2D, plan: DispatchPlan): { routed: tf.Tensor1D; kept: tf.Tensor1D; keptMask: tf.Tensor1D } {
  const full = plan.numExperts * plan.capacity;
  if (tf.getBackend() === "wasm" || tf.getBackend() === "cpu") {
    const [slots, chosen] = [plan.assignSlot.dataSync(), idx.dataSync()];
    const routed = new Float32Array(plan.numExperts);
    const kept = new Float32Array(plan.numExperts);
    const mask = new Float32Array(slots.length);
    for (let a = 0; a < slots.length; a++) {
      routed[chosen[a]!]!++;
      if (slots[a]! >= full) continue;
      kept[chosen[a]!]!++;
      mask[a] = 1;
    }
    return { routed: tf.tensor1d(routed), kept: tf.tensor1d(kept), keptMask: tf.tensor1d(mask) };
  }
  const keptMask = tf.less(plan.assignSlot, full).toFloat() as tf.Tensor1D;
  const routedOh = oneHotFloat(tf.reshape(idx, [-1]), plan.numExperts);
  return { routed: tf.sum(routedOh, 0), kept: tf.sum(tf.mul(routedOh, tf.expandDims(keptMask, 1)), 0), keptMask };
}

function checkExpertMap(map: readonly number[], experts: number, path: string): Int32Array {
  if (map.length !== experts) throw new ConfigError(path, `needs one entry per router expert (${experts}), got ${map.length}`);
  for (const m of map) if (!Number.isInteger(m) || m < 0 || m >= experts) throw new ConfigError(path, `entry ${m} not in [0, ${experts})`);
  const used = new Set(map);
  for (let g = 0; g < used.size; g++) if (!used.has(g)) throw new ConfigError(path, `expert ${g} is never used (entries must cover 0..max)`);
  return Int32Array.from(map);
}
