import * as tf from "@tensorflow/tfjs";
import { readSafetensors } from "../../../src/nn/safetensors.js";
import type { HostTensor } from "../../../src/nn/module.js";
import { parseOfficialConfig, type BrainOmniConfig, type BrainTokenizerConfig } from "../../../src/models/brainomni/config.js";
import { BrainOmni } from "../../../src/models/brainomni/omni.js";
import { BrainTokenizer } from "../../../src/models/brainomni/tokenizer.js";
import { sharedData } from "../../helpers/shared.js";

/** A fixture file of `shared/data/parity/brainomni`, decoded: tensors by name plus `__metadata__`. */
export interface Fixture {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

const cache = new Map<string, Fixture>();

/** Loads `parity/brainomni/<rel>` (throws when the shared data is missing; never skips). */
export function fixture(rel: string): Fixture {
  let f = cache.get(rel);
  if (!f) {
    const file = readSafetensors(sharedData(`parity/brainomni/${rel}`));
    f = { tensors: new Map(file.tensors.map((t) => [t.name, t.read()])), metadata: file.metadata };
    cache.set(rel, f);
  }
  return f;
}

/** A fixture tensor as a new tf.Tensor (caller disposes). */
export function tensorOf(f: Fixture, name: string): tf.Tensor {
  const h = f.tensors.get(name);
  if (!h) throw new Error(`fixture tensor ${name} missing`);
  return tf.tensor(h.data, h.shape, h.dtype);
}

/** Host values of a fixture tensor. */
export function valuesOf(f: Fixture, name: string): HostTensor {
  const h = f.tensors.get(name);
  if (!h) throw new Error(`fixture tensor ${name} missing`);
  return h;
}

/** max |a − b| between a tensor and a fixture tensor of the same size (shapes checked). */
export function maxAbsDiff(actual: tf.Tensor | ArrayLike<number>, expected: HostTensor, shape?: number[]): number {
  let a: ArrayLike<number>;
  if (actual instanceof tf.Tensor) {
    const want = shape ?? expected.shape;
    if (actual.shape.join() !== want.join()) throw new Error(`shape [${actual.shape}] vs expected [${want}]`);
    a = actual.dataSync();
  } else a = actual;
  const b = expected.data;
  if (a.length !== b.length) throw new Error(`size ${a.length} vs expected ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Number of differing entries of two integer arrays. */
export function countDifferent(actual: tf.Tensor, expected: HostTensor): number {
  const a = actual.dataSync();
  const b = expected.data;
  if (a.length !== b.length) throw new Error(`size ${a.length} vs expected ${b.length}`);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** The fixtures' small BrainTokenizer with the official weights, in eval mode. */
export function smallTokenizer(): BrainTokenizer {
  const w = fixture("tokenizer_small/weights.safetensors");
  const tok = new BrainTokenizer(parseOfficialConfig(w.metadata.config!) as BrainTokenizerConfig);
  tok.loadStateDict(w.tensors);
  return tok.eval();
}

/** The fixtures' small BrainOmni (stage 2) with the official weights, in eval mode. */
export function smallOmni(): BrainOmni {
  const w = fixture("omni_small/weights.safetensors");
  const omni = new BrainOmni(parseOfficialConfig(w.metadata.config!) as BrainOmniConfig);
  omni.loadStateDict(w.tensors);
  return omni.eval();
}

/** The fixture input batch (x, pos, sensor types) of an io file as new tensors. */
export function inputBatch(f: Fixture): { x: tf.Tensor; pos: tf.Tensor; sensorType: tf.Tensor } {
  return { x: tensorOf(f, "input.x"), pos: tensorOf(f, "input.pos"), sensorType: tensorOf(f, "input.sensor_type") };
}
