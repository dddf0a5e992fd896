import * as tf from "@tensorflow/tfjs";
import type { AnyModule } from "./module.js";
import { clipGradNorm, type Grads } from "./optim.js";

/** Anything with a `step(grads)` that updates parameters. */
export interface StepOptimizer {
  step(grads: Grads): void;
}

/**
 * One training step: gradients of `lossFn()` w.r.t. the module's trainable
 * parameters, optional clipping by global norm, optimiser update. Every
 * intermediate tensor is freed, so the live-tensor count is unchanged.
 * @returns the loss value (host number).
 */
export function trainStep(module: AnyModule, lossFn: () => tf.Scalar, optimizer: StepOptimizer, opts: { clipNorm?: number } = {}): number {
  const { value, grads } = tf.variableGrads(lossFn, module.trainableParameters());
  try {
    if (opts.clipNorm !== undefined) clipGradNorm(grads, opts.clipNorm);
    optimizer.step(grads);
    return value.dataSync()[0]!;
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}
