import * as tf from "@tensorflow/tfjs";
import { NeurocodeError } from "../errors.js";

/** A tensor leak: an operation left more (or fewer) live tensors than it found. */
export class TensorLeakError extends NeurocodeError {
  override name = "TensorLeakError";
}

/** Number of live tensors right now (`tf.memory().numTensors`). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}

/**
 * Runs `fn` and throws `TensorLeakError` when the number of live tensors
 * afterwards differs from before by anything other than `expectedNew`
 * (the tensors `fn` deliberately returns or keeps). Returns `fn`'s result.
 */
export function assertNoLeak<T>(label: string, fn: () => T, expectedNew = 0): T {
  const before = liveTensors();
  const out = fn();
  const diff = liveTensors() - before;
  if (diff !== expectedNew) throw new TensorLeakError(`${label}: ${diff} tensors leaked (expected ${expectedNew})`);
  return out;
}

/** Async variant of `assertNoLeak` for functions that await (e.g. `data()`). */
export async function assertNoLeakAsync<T>(label: string, fn: () => Promise<T>, expectedNew = 0): Promise<T> {
  const before = liveTensors();
  const out = await fn();
  const diff = liveTensors() - before;
  if (diff !== expectedNew) throw new TensorLeakError(`${label}: ${diff} tensors leaked (expected ${expectedNew})`);
  return out;
}
