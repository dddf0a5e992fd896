import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../src/engine/backend.js";
import { readSafetensors } from "../../../src/nn/safetensors.js";
import { BrainTokenizer } from "../../../src/models/brainomni/tokenizer.js";
import { golden } from "../../helpers/shared.js";
import { countDifferent, fixture, smallTokenizer, maxAbsDiff, valuesOf } from "./fixtures.js";

let tok: BrainTokenizer;
const io = () => fixture("tokenizer_small/io.safetensors");

beforeAll(async () => {
  await initBackend();
  tok = smallTokenizer();
});

/** Item b of the fixture input restricted to `channels` (in that order), as a batch of one. */
function itemBatch(b: number, channels: number[]) {
  const f = io();
  const x = valuesOf(f, "input.x").data;
  const pos = valuesOf(f, "input.pos").data;
  const st = valuesOf(f, "input.sensor_type").data;
  const C = channels.length;
  const xs = new Float32Array(C * 1024);
  const ps = new Float32Array(C * 6);
  const ts = new Int32Array(C);
  channels.forEach((c, i) => {
    xs.set(x.subarray((b * 32 + c) * 1024, (b * 32 + c + 1) * 1024), i * 1024);
    ps.set(pos.subarray((b * 32 + c) * 6, (b * 32 + c + 1) * 6), i * 6);
    ts[i] = st[b * 32 + c]!;
  });
  return { x: tf.tensor3d(xs, [1, C, 1024]), pos: tf.tensor3d(ps, [1, C, 6]), sensorType: tf.tensor2d(ts, [1, C], "int32") };
}

/** Slice of a fixture tensor [2, ...rest] at item b. */
function itemOf(name: string, b: number) {
  const h = valuesOf(io(), name);
  const per = h.data.length / h.shape[0]!;
  return { ...h, shape: [1, ...h.shape.slice(1)], data: h.data.slice(b * per, (b + 1) * per) };
}

const all = Array.from({ length: 32 }, (_, i) => i);

describe("BrainTokenizer on any sensor set", () => {
  it("MEG-only (item 0: 32 gradiometers) and mixed EEG/MAG/GRAD (item 1) alone match the official batch outputs", () => {
    for (const b of [0, 1]) {
      const batch = itemBatch(b, all);
      const r = tok.reconstruct(batch);
      const err = maxAbsDiff(r.xRec, itemOf("eval.dec.x_rec", b));
      expect(err, `item ${b} x_rec`).toBeLessThanOrEqual(1e-4);
      expect(countDifferent(r.indices, itemOf("eval.rvq.indices", b))).toBe(0);
      tf.dispose([batch.x, batch.pos, batch.sensorType, r.xRec, r.target, r.indices, ...Object.values(r.losses)]);
    }
  });

  it("EEG-only (the 11 EEG channels of item 1) matches the PyTorch re-implementation golden", () => {
    const g = readSafetensors(golden("brainomni/eeg_only.safetensors"));
    const t = new Map(g.tensors.map((e) => [e.name, e.read()]));
    const channels = Array.from(t.get("channels")!.data);
    expect(channels).toHaveLength(11);
    const batch = itemBatch(1, channels);
    const r = tok.reconstruct(batch);
    expect(maxAbsDiff(r.xRec, t.get("x_rec")!)).toBeLessThanOrEqual(1e-4);
    expect(countDifferent(r.indices, t.get("indices")!)).toBe(0);
    tf.dispose([batch.x, batch.pos, batch.sensorType, r.xRec, r.target, r.indices, ...Object.values(r.losses)]);
  });

  it("permuting channels permutes nothing in the codes or features", () => {
    const perm = all.map((i) => (i * 5 + 3) % 32);
    expect(new Set(perm).size).toBe(32);
    for (const b of [0, 1]) {
      const a = itemBatch(b, all);
      const p = itemBatch(b, perm);
      const ta = tok.tokenize(a);
      const tp = tok.tokenize(p);
      expect(countDifferent(tp.indices, { data: ta.indices.dataSync() as Int32Array, shape: ta.indices.shape, dtype: "int32" })).toBe(0);
      expect(maxAbsDiff(tp.features, { data: ta.features.dataSync() as Float32Array, shape: ta.features.shape, dtype: "float32" })).toBeLessThanOrEqual(1e-5);
      tf.dispose([a.x, a.pos, a.sensorType, p.x, p.pos, p.sensorType, ta.features, ta.indices, tp.features, tp.indices]);
    }
  });

  it("any channel count tokenizes without retraining, and the decoder reconstructs sensors it never saw", () => {
    const before = tf.memory().numTensors;
    for (const C of [1, 5, 17]) {
      const chans = all.slice(0, C);
      const batch = itemBatch(1, chans);
      const t = tok.tokenize(batch);
      expect(t.indices.shape).toEqual([1, 4, 16, 4]);
      // Decode the latents for a different sensor set (the other 32 − C channels).
      const others = itemBatch(1, all.slice(C));
      const rec = tok.decode(t.features, others.pos, others.sensorType);
      expect(rec.shape).toEqual([1, 32 - C, 2, 512]);
      expect(rec.dataSync().every(Number.isFinite)).toBe(true);
      tf.dispose([batch.x, batch.pos, batch.sensorType, t.features, t.indices, others.x, others.pos, others.sensorType, rec]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects bad input with typed errors", () => {
    const a = itemBatch(0, all.slice(0, 4));
    const badPos = tf.zeros([1, 4, 5]);
    expect(() => tok.tokenize({ ...a, pos: badPos })).toThrow(/pos/);
    const badType = tf.tensor2d([[0, 1, 2, 3]], [1, 4], "int32");
    expect(() => tok.tokenize({ ...a, sensorType: badType })).toThrow(/out of range/);
    tf.dispose([a.x, a.pos, a.sensorType, badPos, badType]);
  });
});
