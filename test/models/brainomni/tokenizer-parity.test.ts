import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../src/engine/backend.js";
import { BrainTokenizer } from "../../../src/models/brainomni/tokenizer.js";
import { countDifferent, fixture, smallTokenizer, maxAbsDiff, tensorOf, valuesOf } from "./fixtures.js";

const TOL = 1e-4;
let tok: BrainTokenizer;
const io = () => fixture("tokenizer_small/io.safetensors");

beforeAll(async () => {
  await initBackend();
  tok = smallTokenizer();
});

/** Captures module outputs by dotted name during `fn`, as host arrays. */
function capture<T>(names: string[], fn: () => T): { result: T; got: Map<string, { data: Float32Array; shape: number[] }> } {
  const got = new Map<string, { data: Float32Array; shape: number[] }>();
  const handles = tok.namedModules().filter(([n]) => names.includes(n)).map(([n, m]) =>
    m.registerForwardHook(({ output }) => {
      // SEANet runs channels-last [rows, L, C]; the fixtures are PyTorch's [rows, C, L].
      const t = n.includes(".seanet_") ? tf.transpose(output as tf.Tensor, [0, 2, 1]) : (output as tf.Tensor);
      got.set(n, { data: Float32Array.from(t.dataSync()), shape: [...t.shape] });
      if (t !== output) t.dispose();
    }),
  );
  try {
    return { result: fn(), got };
  } finally {
    handles.forEach((h) => h.remove());
  }
}

describe("BrainTokenizer parity with the official code (tokenizer_small fixtures)", () => {
  it("eval pass (visualize): every stage, codes, reconstruction and losses", () => {
    const f = io();
    const before = tf.memory().numTensors;
    const x = tensorOf(f, "input.x");
    const pos = tensorOf(f, "input.pos");
    const st = tensorOf(f, "input.sensor_type");
    const enc = Array.from({ length: 13 }, (_, i) => `encoder.seanet_encoder.model.${i}`);
    const dec = Array.from({ length: 13 }, (_, i) => `decoder.seanet_decoder.model.${i}`);
    const names = ["sensor_embed", "sensor_embed.pos_embedding_layer", "sensor_embed.sensor_embedding_layer", "sensor_embed.aggregate_mlp", "encoder.k_proj", "encoder.backwardsolution", "encoder", "decoder.forwardsolution", "decoder", ...enc, ...dec];
    const { result: r, got } = capture(names, () => tok.reconstruct({ x, pos, sensorType: st }));
    const errs: Record<string, number> = {};
    const cmp = (name: string, key: string, rows?: number) => {
      const g = got.get(name)!;
      const e = valuesOf(f, key);
      const n = rows ? e.data.length : g.data.length;
      errs[key] = maxAbsDiff(g.data.subarray(0, n), e);
    };
    cmp("sensor_embed.pos_embedding_layer", "eval.sensor.pos_mlp");
    cmp("sensor_embed.sensor_embedding_layer", "eval.sensor.type_embedding");
    cmp("sensor_embed.aggregate_mlp", "eval.sensor.aggregate_ff");
    cmp("sensor_embed", "eval.sensor.embedding");
    const encNames = ["00_SConv1d", "01_SEANetResnetBlock", "02_ELU", "03_SConv1d", "04_SEANetResnetBlock", "05_ELU", "06_SConv1d", "07_SEANetResnetBlock", "08_ELU", "09_SConv1d", "10_SLSTM", "11_ELU", "12_SConv1d"];
    encNames.forEach((n, i) => cmp(`encoder.seanet_encoder.model.${i}`, `eval.enc.seanet.layer.${n}`, 8));
    cmp("encoder.seanet_encoder.model.12", "eval.enc.seanet.out");
    cmp("encoder.k_proj", "eval.enc.k");
    cmp("encoder.backwardsolution", "eval.enc.backward.out");
    cmp("encoder", "eval.enc.latent");
    const decNames = ["00_SConv1d", "01_SLSTM", "02_ELU", "03_SConvTranspose1d", "04_SEANetResnetBlock", "05_ELU", "06_SConvTranspose1d", "07_SEANetResnetBlock", "08_ELU", "09_SConvTranspose1d", "10_SEANetResnetBlock", "11_ELU", "12_SConv1d"];
    decNames.forEach((n, i) => cmp(`decoder.seanet_decoder.model.${i}`, `eval.dec.seanet.layer.${n}`, 8));
    cmp("decoder.forwardsolution", "eval.dec.forward.out");
    errs["eval.target_norm"] = maxAbsDiff(r.target, valuesOf(f, "eval.target_norm"));
    errs["eval.dec.x_rec"] = maxAbsDiff(r.xRec, valuesOf(f, "eval.dec.x_rec"));
    const L = r.losses;
    errs["eval.loss.time_loss"] = maxAbsDiff(L.timeLoss, valuesOf(f, "eval.loss.time_loss"));
    errs["eval.loss.pcc"] = maxAbsDiff(L.pcc, valuesOf(f, "eval.loss.pcc"));
    errs["eval.rvq.commit_loss"] = maxAbsDiff(L.commitmentLoss, valuesOf(f, "eval.rvq.commit_loss"));
    errs["eval.loss.amp_loss"] = maxAbsDiff(L.ampLoss, valuesOf(f, "eval.loss.amp_loss"));
    errs["eval.loss.phase_loss"] = maxAbsDiff(L.phaseLoss, valuesOf(f, "eval.loss.phase_loss"));
    errs["eval.loss.total"] = maxAbsDiff(L.loss, valuesOf(f, "eval.loss.total"));
    const codeDiff = countDifferent(r.indices, valuesOf(f, "eval.rvq.indices"));
    console.log("tokenizer eval parity, max abs error per stage:", errs);
    for (const [k, v] of Object.entries(errs)) expect(v, k).toBeLessThanOrEqual(TOL);
    expect(codeDiff).toBe(0);
    tf.dispose([x, pos, st, r.target, r.xRec, r.indices, ...Object.values(r.losses)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("tokenize with overlap 0.25 (padding exercised) and overlap 0: latents, per-level residuals, codes, features", () => {
    const f = io();
    const before = tf.memory().numTensors;
    const batch = { x: tensorOf(f, "input.x"), pos: tensorOf(f, "input.pos"), sensorType: tensorOf(f, "input.sensor_type") };
    const levels: { residual: Float32Array; quantized: Float32Array }[] = [];
    const h = tok.quantizer.registerForwardHook(({ output }) => {
      for (const l of (output as { levels: { residual: tf.Tensor; quantized: tf.Tensor }[] }).levels) {
        levels.push({ residual: Float32Array.from(l.residual.dataSync()), quantized: Float32Array.from(l.quantized.dataSync()) });
      }
    });
    const t25 = tok.tokenize(batch, 0.25);
    h.remove();
    const errs: Record<string, number> = {};
    levels.forEach((l, q) => {
      errs[`tok25.rvq.layer${q}.residual_in`] = maxAbsDiff(l.residual, valuesOf(f, `tok25.rvq.layer${q}.residual_in`));
      errs[`tok25.rvq.layer${q}.quantized`] = maxAbsDiff(l.quantized, valuesOf(f, `tok25.rvq.layer${q}.quantized`));
    });
    errs["tok25.features"] = maxAbsDiff(t25.features, valuesOf(f, "tok25.features"));
    const t0 = tok.tokenize(batch, 0);
    errs["tok0.features"] = maxAbsDiff(t0.features, valuesOf(f, "tok0.features"));
    console.log("tokenize parity:", errs);
    expect(levels).toHaveLength(4);
    for (const [k, v] of Object.entries(errs)) expect(v, k).toBeLessThanOrEqual(TOL);
    expect(countDifferent(t25.indices, valuesOf(f, "tok25.indices"))).toBe(0);
    expect(countDifferent(t0.indices, valuesOf(f, "tok0.indices"))).toBe(0);
    tf.dispose([batch.x, batch.pos, batch.sensorType, t25.features, t25.indices, t0.features, t0.indices]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("training objective (25% channel drop, noise replayed) in eval and in train mode: codes and every loss term", () => {
    const f = io();
    const before = tf.memory().numTensors;
    const batch = { x: tensorOf(f, "input.x"), pos: tensorOf(f, "input.pos"), sensorType: tensorOf(f, "input.sensor_type") };
    const perm = Int32Array.from(valuesOf(f, "fwd.channel_perm").data);
    const nMasked = valuesOf(f, "fwd.n_masked_channels").data[0]!;
    expect(nMasked).toBe(Math.max(Math.floor(0.25 * 32), 1));
    const noise = tensorOf(f, "fwd.noise_randn");
    const terms = [["timeLoss", "time_loss"], ["pcc", "pcc"], ["commitmentLoss", "commitment_loss"], ["ampLoss", "amp_loss"], ["phaseLoss", "phase_loss"], ["loss", "loss"]] as const;
    const errs: Record<string, number> = {};
    const out = tok.trainForward(batch, { perm, nMasked, noise });
    for (const [ours, theirs] of terms) errs[`fwd.loss.${theirs}`] = maxAbsDiff(out.losses[ours], valuesOf(f, `fwd.loss.${theirs}`));
    errs["fwd.dec.x_rec"] = maxAbsDiff(out.xRec, valuesOf(f, "fwd.dec.x_rec"));
    errs["fwd.target_norm"] = maxAbsDiff(out.target, valuesOf(f, "fwd.target_norm"));
    expect(countDifferent(out.indices, valuesOf(f, "fwd.indices"))).toBe(0);

    // Train mode on a fresh copy: rotation trick and EMA must not change the forward values.
    const w = fixture("tokenizer_small/weights.safetensors");
    const fresh = new BrainTokenizer(tok.cfg);
    fresh.loadStateDict(w.tensors);
    fresh.train();
    const embedBefore = fresh.quantizer.codebooks()[0]!.embed.dataSync().slice();
    const tr = fresh.trainForward(batch, { perm, nMasked, noise });
    for (const [ours, theirs] of terms) errs[`fwd_trainmode.loss.${theirs}`] = maxAbsDiff(tr.losses[ours], valuesOf(f, `fwd_trainmode.loss.${theirs}`));
    expect(countDifferent(tr.indices, valuesOf(f, "fwd_trainmode.indices"))).toBe(0);
    // The EMA step moved the codebook (training state is live).
    expect(maxAbsDiff(fresh.quantizer.codebooks()[0]!.embed, { data: embedBefore, shape: [64, 32], dtype: "float32" })).toBeGreaterThan(1e-4);
    console.log("training-objective parity:", errs);
    for (const [k, v] of Object.entries(errs)) expect(v, k).toBeLessThanOrEqual(TOL);
    fresh.dispose();
    tf.dispose([batch.x, batch.pos, batch.sensorType, noise, out.xRec, out.target, out.indices, ...Object.values(out.losses), tr.xRec, tr.target, tr.indices, ...Object.values(tr.losses)]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
