import * as tf from "@tensorflow/tfjs";
import type { AnyModule } from "../nn/module.js";
import type { MoEOutput } from "./layer.js";

/** Host copy of one MoE layer's losses and load for one forward. */
export interface MoELayerReport {
  /** Dotted module name. */
  name: string;
  /** Tokens routed in this forward. */
  numTokens: number;
  switchLoss: number;
  zLoss: number;
  routed: number[];
  kept: number[];
  meanProb: number[];
  droppedFraction: number;
}

/** Receives the losses of every forward of a module while a `collectMoEAux` scope is open. */
export type AuxSink = (name: string, out: MoEOutput) => void;

/** A module whose forwards produce MoE losses (MoE FFN, MoA, AdaMoE). */
export interface MoEAuxSource {
  auxSink: AuxSink | null;
}

function isSource(m: AnyModule): m is AnyModule & MoEAuxSource {
  return "auxSink" in m;
}

/**
 * Hands the losses of a drop-in `forward` to the open scope, or frees them
 * when none is open (so a plain forward leaves no tensors behind).
 */
export function emitAux(module: AnyModule & MoEAuxSource, out: MoEOutput): void {
  const extra = [out.loss, out.switchLoss, out.zLoss, out.load.routed, out.load.kept, out.load.meanProb, out.load.droppedFraction];
  if (module.auxSink) {
    // Kept so that inner tf.tidy scopes of the calling blocks do not free them before the scope closes.
    extra.forEach((t) => tf.keep(t));
    module.auxSink(module.fullName, out);
  } else {
    tf.dispose(extra);
  }
}

/** What `collectMoEAux` returns. */
export interface MoEAuxResult<T> {
  /** What `fn` returned. */
  result: T;
  /** Σ over MoE forwards of α·switch + β·z (a scalar in the caller's scope; 0 when no MoE ran). */
  loss: tf.Scalar;
  /** Host copy of each MoE forward's losses and load, in call order. */
  layers: MoELayerReport[];
}

/**
 * Runs `fn` (typically `model.call(x)`) while collecting the balancing losses
 * and per-expert load of every MoE layer inside `model`. Call it inside the loss
 * function of `tf.variableGrads` and add `loss` to the task loss: gradients
 * reach the routers. Leaves no tensors behind except `result` and `loss`.
 */
export function collectMoEAux<T>(model: AnyModule, fn: () => T): MoEAuxResult<T> {
  const sources = model.namedModules().map(([, m]) => m).filter(isSource);
  const outs: { name: string; out: MoEOutput }[] = [];
  const sink: AuxSink = (name, out) => outs.push({ name, out });
  for (const s of sources) s.auxSink = sink;
  try {
    const result = fn();
    const loss = outs.length ? (tf.addN(outs.map((o) => o.out.loss)) as tf.Scalar) : tf.scalar(0);
    const layers = outs.map(({ name, out }) => ({
      name,
      numTokens: out.numTokens,
      switchLoss: out.switchLoss.dataSync()[0]!,
      zLoss: out.zLoss.dataSync()[0]!,
      routed: Array.from(out.load.routed.dataSync()),
      kept: Array.from(out.load.kept.dataSync()),
      meanProb: Array.from(out.load.meanProb.dataSync()),
      droppedFraction: out.load.droppedFraction.dataSync()[0]!,
    }));
    return { result, loss, layers };
  } finally {
    for (const s of sources) s.auxSink = null;
    for (const { out } of outs) disposeAux(out);
  }
}

/** Frees the losses and load of an `MoEOutput` (not its `output`). */
export function disposeAux(out: MoEOutput): void {
  tf.dispose([out.loss, out.switchLoss, out.zLoss, out.load.routed, out.load.kept, out.load.meanProb, out.load.droppedFraction]);
}
