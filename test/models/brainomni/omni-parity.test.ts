import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../src/engine/backend.js";
import { parseOfficialConfig, type BrainOmniConfig } from "../../../src/models/brainomni/config.js";
import { BrainOmni, ClassificationHead, CORRECTED_QUIRKS } from "../../../src/models/brainomni/omni.js";
import { golden } from "../../helpers/shared.js";
import { loadOmni } from "../../../src/models/brainomni/checkpoint.js";
import { countDifferent, fixture, inputBatch, maxAbsDiff, smallOmni, valuesOf } from "./fixtures.js";

const TOL = 1e-4;
let omni: BrainOmni;
const io = () => fixture("omni_small/io.safetensors");
const batchOf = () => inputBatch(io());

beforeAll(async () => {
  await initBackend();
  omni = smallOmni();
});

describe("BrainOmni stage-2 parity with the official code (omni_small fixtures)", () => {
  it("encode(): tokens, rotary q/k, both half-attentions, block output and features", () => {
    const f = io();
    const before = tf.memory().numTensors;
    const batch = batchOf();
    const got = new Map<string, Float32Array>();
    const grab = (name: string) => (ctx: { output: unknown }) => void got.set(name, Float32Array.from((ctx.output as tf.Tensor).dataSync()));
    const b0 = omni.blocks.items[0]!;
    let ropeCalls = 0;
    const hooks = [
      b0.registerForwardHook(grab("encode.block0.out")),
      b0.preAttnNorm.registerForwardHook(grab("encode.block0.pre_attn_norm")),
      b0.preFfNorm.registerForwardHook(grab("encode.block0.pre_ff_norm")),
      b0.ff.registerForwardHook(grab("encode.block0.ff")),
      b0.timeAttn.registerForwardHook(grab("encode.block0.time_attn")),
      b0.spatialAttn.registerForwardHook(grab("encode.block0.spatial_attn")),
      b0.timeAttn.rope!.registerForwardHook((ctx) => {
        const key = ropeCalls++ === 0 ? "q" : "k";
        got.set(`encode.block0.time_attn.rope.${key}_in`, Float32Array.from((ctx.inputs[0] as tf.Tensor).dataSync()));
        got.set(`encode.block0.time_attn.rope.${key}_out`, Float32Array.from((ctx.output as tf.Tensor).dataSync()));
      }),
    ];
    const out = omni.encode(batch);
    hooks.forEach((h) => h.remove());
    const errs: Record<string, number> = {};
    for (const [k, v] of got) errs[k] = maxAbsDiff(v, valuesOf(f, k));
    errs["encode.output"] = maxAbsDiff(out, valuesOf(f, "encode.output"));
    const tok = omni.tokenizer.tokenize(batch, 0.25);
    errs["encode.tokens"] = maxAbsDiff(tok.features, valuesOf(f, "encode.tokens"));
    expect(countDifferent(tok.indices, valuesOf(f, "encode.token_indices"))).toBe(0);
    console.log("BrainOmni encode parity:", errs);
    expect(Object.keys(errs).length).toBe(12);
    for (const [k, v] of Object.entries(errs)) expect(v, k).toBeLessThanOrEqual(TOL);
    tf.dispose([batch.x, batch.pos, batch.sensorType, out, tok.features, tok.indices]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("masked-token forward with the recorded draws: logits, loss and per-level accuracy", () => {
    const f = io();
    const before = tf.memory().numTensors;
    const batch = batchOf();
    const draw = {
      keep: Uint8Array.from(valuesOf(f, "fwd.keep_mask").data),
      randToken: Float32Array.from(valuesOf(f, "fwd.rand_token").data),
      perm: Int32Array.from(valuesOf(f, "fwd.token_perm").data),
    };
    const out = omni.maskedForward(batch, draw);
    const errs = {
      "fwd.logits_flat": maxAbsDiff(out.logits, valuesOf(f, "fwd.logits_flat"), [2, 4, 24, 4, 64]),
      "fwd.loss": maxAbsDiff(out.loss, valuesOf(f, "fwd.loss")),
    };
    console.log("BrainOmni masked forward parity:", errs, "accuracy", out.accuracy);
    for (const [k, v] of Object.entries(errs)) expect(v, k).toBeLessThanOrEqual(TOL);
    out.accuracy.forEach((a, q) => expect(a).toBeCloseTo(valuesOf(f, `fwd.acc_${q}`).data[0]!, 6));
    tf.dispose([batch.x, batch.pos, batch.sensorType, out.logits, out.labels, out.loss]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("quirk modes: the released cosine-only rotary cache differs from a true rotation; corrected mode ignores the cache; both load from a release-style .pt", () => {
    const w = fixture("omni_small/weights.safetensors");
    const cfg = parseOfficialConfig(w.metadata.config!) as BrainOmniConfig;
    // A released-style checkpoint: rotate with its imaginary part lost.
    const released = new Map(w.tensors);
    for (const [k, t] of w.tensors) {
      if (!k.endsWith("rope_embedding_layer.rotate")) continue;
      const d = Float32Array.from(t.data);
      for (let i = 1; i < d.length; i += 2) d[i] = 0;
      released.set(k, { ...t, data: d });
    }
    const faithful = new BrainOmni(cfg);
    faithful.loadStateDict(released);
    faithful.eval();
    const corrected = new BrainOmni(cfg, CORRECTED_QUIRKS);
    corrected.loadStateDict(released);
    corrected.eval();
    const batch = batchOf();
    const a = faithful.encode(batch);
    const b = corrected.encode(batch);
    // Corrected mode recomputes the rotation, so it equals the official output on the true cache.
    expect(maxAbsDiff(b, valuesOf(io(), "encode.output"))).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(a, valuesOf(io(), "encode.output"))).toBeGreaterThan(1e-3);
    // The same through a release-style .pt (rotary stored as a real tensor) and the engine's reader.
    const fromPt = loadOmni(golden("brainomni/pt-omni/BrainOmni.pt"));
    const c = fromPt.encode(batch);
    expect(maxAbsDiff(c, { data: a.dataSync() as Float32Array, shape: a.shape, dtype: "float32" })).toBeLessThan(1e-6);
    const fromPtCorrected = loadOmni(golden("brainomni/pt-omni/BrainOmni.pt"), CORRECTED_QUIRKS);
    const d = fromPtCorrected.encode(batch);
    expect(maxAbsDiff(d, valuesOf(io(), "encode.output"))).toBeLessThanOrEqual(TOL);
    tf.dispose([a, b, c, d, batch.x, batch.pos, batch.sensorType]);
    fromPt.dispose();
    fromPtCorrected.dispose();
    faithful.dispose();
    corrected.dispose();
  });

  it("downstream head: mean over time, flatten sources, Linear-SELU-Linear; deterministic in eval, checked shapes", () => {
    const batch = batchOf();
    const feats = omni.encode(batch);
    const head = new ClassificationHead(4, 32, 3);
    head.eval();
    const a = head.call(feats);
    const b = head.call(feats);
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    // Closed form for item 0: fc2(selu(fc1(mean_t features))).
    const ref = tf.tidy(() => {
      const pooled = tf.mean(feats, 2).reshape([2, 128]);
      return tf.add(tf.matMul(tf.selu(tf.add(tf.matMul(pooled, head.fc1.weight, false, true), head.fc1.bias!)), head.fc2.weight, false, true), head.fc2.bias!);
    });
    expect(maxAbsDiff(a, { data: ref.dataSync() as Float32Array, shape: [2, 3], dtype: "float32" })).toBeLessThan(1e-6);
    const wrong = tf.zeros([2, 5, 24, 32]);
    expect(() => head.call(wrong)).toThrow(/head input/);
    tf.dispose([batch.x, batch.pos, batch.sensorType, feats, a, b, ref, wrong]);
    head.dispose();
  });
});
