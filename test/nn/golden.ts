import * as tf from "@tensorflow/tfjs";
import { expect } from "vitest";
import { readSafetensors } from "../../src/nn/safetensors.js";
import type { HostTensor } from "../../src/nn/module.js";
import { golden } from "../helpers/shared.js";

/** All tensors of a golden safetensors file under test/golden/nn, decoded on the host. */
export function loadGolden(file: string): Map<string, HostTensor> {
  const f = readSafetensors(golden(`nn/${file}`));
  return new Map(f.tensors.map((t) => [t.name, t.read()]));
}

/** A golden tensor as a tf.Tensor (caller disposes). */
export function tensorOf(h: HostTensor): tf.Tensor {
  return tf.tensor(h.data, h.shape, h.dtype);
}

/** Asserts same shape and max |a − b| ≤ tol. */
export function expectClose(what: string, actual: tf.Tensor, expected: HostTensor, tol = 1e-5): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const a = actual.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - expected.data[i]!));
  expect(worst, `${what} max abs error`).toBeLessThanOrEqual(tol);
}
