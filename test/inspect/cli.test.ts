import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMain } from "../helpers/cli.js";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed, Rng } from "../../src/engine/random.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { readActivations } from "../../src/inspect/arrow.js";
import { loadModelCheckpoint } from "../../src/inspect/checkpoint.js";
import { ActivationRecorder } from "../../src/inspect/recorder.js";
import { TourTransformer } from "../../src/inspect/tour-model.js";
import { saveCheckpoint } from "../../src/nn/checkpoint.js";
import { Linear } from "../../src/nn/linear.js";

const dir = mkdtempSync(join(tmpdir(), "nc-inspect-cli-"));
const ck = join(dir, "tour.safetensors");
const inA = join(dir, "a.npy");
const inB = join(dir, "b.npy");
const config = { inDim: 3, dModel: 8, nHead: 2, layers: 3, dimFeedforward: 16, classes: 2 };

beforeAll(async () => {
  await initBackend();
  manualSeed(4);
  const model = new TourTransformer(config);
  saveCheckpoint(model, ck, { modelName: "tour-transformer", config });
  model.dispose();
  const rng = new Rng(1);
  writeNpy(inA, rng.normalArray(5 * 3), [5, 3]);
  writeNpy(inB, rng.normalArray(2 * 5 * 3), [2, 5, 3]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI in-process, with what it printed. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runMain(args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

describe("neurocode inspect", () => {
  it("records a checkpointed model on .npy inputs exactly as the library does", async () => {
    const out = join(dir, "acts.arrow");
    const r = await run(["inspect", "--checkpoint", ck, inA, inB, "--record", "blocks.*,blocks.*.linear1", "--out", out]);
    expect(r.code).toBe(0);
    const t = readActivations(out);
    expect(t.module.length).toBe(6 * 5 + 6 * 10);
    expect(new Set(t.call)).toEqual(new Set([0, 1]));
    expect(t.meta.extra.model).toBe("tour-transformer");
    expect(JSON.parse(t.meta.extra.inputs!)).toEqual([inA, inB]);
    // the same model loaded in-process and recorded on the first input gives the same numbers
    const { model } = loadModelCheckpoint(ck);
    const rec = new ActivationRecorder(model, { record: ["blocks.*", "blocks.*.linear1"] });
    const x = tf.tensor(readNpy(inA).data as Float32Array, [1, 5, 3]);
    tf.tidy(() => model.call(x));
    rec.detach();
    const ref = rec.table();
    expect([...t.l2.slice(0, ref.l2.length)]).toEqual([...ref.l2]);
    expect(t.module.slice(0, ref.module.length)).toEqual(ref.module);
    x.dispose();
    model.dispose();
  });

  it("report prints the per-module summary and writes an SVG plot", async () => {
    const out = join(dir, "acts2.arrow");
    expect((await run(["inspect", "--checkpoint", ck, inB, "--record", "blocks.*", "--out", out])).code).toBe(0);
    const svg = join(dir, "plot.svg");
    const r = await run(["inspect", "report", out, "--svg", svg]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toMatch(/^module\s+calls\s+rows/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["blocks.0", "blocks.1", "blocks.2"]);
    const plot = readFileSync(svg, "utf8");
    expect(plot.startsWith("<svg")).toBe(true);
    expect(plot).toContain("void fraction (LAC)");
    expect((plot.match(/<rect x=/g) ?? []).length).toBeGreaterThanOrEqual(3 * 3);
    const streamed = join(dir, "streamed");
    expect((await run(["inspect", "--checkpoint", ck, inB, inB, "--record", "blocks.*", "--out", streamed, "--stream-rows", "25"])).code).toBe(0);
    const parts = await run(["inspect", "report", streamed, "--json"]);
    expect((JSON.parse(parts.out) as { rows: number }[]).map((s) => s.rows)).toEqual([20, 20, 20]);
    const j = await run(["inspect", "report", out, "--json", "--layers", "blocks.*"]);
    const summary = JSON.parse(j.out) as { module: string; rows: number; voidFraction: number }[];
    expect(summary.map((s) => s.rows)).toEqual([10, 10, 10]);
    for (const s of summary) expect(s.voidFraction).toBeGreaterThanOrEqual(0);
  });

  it("bad input and missing options are one-line typed errors", async () => {
    expect((await run(["inspect", "--checkpoint", join(dir, "nope.safetensors"), inA, "--record", "blocks.*"])).code).toBe(1);
    const bad = join(dir, "bad.npy");
    writeNpy(bad, new Float32Array(4), [4]);
    const r = await run(["inspect", "--checkpoint", ck, bad, "--record", "blocks.*", "--out", join(dir, "x.arrow")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ShapeError/);
    expect((await run(["inspect", "--checkpoint", ck, inA, "--record", "decoder.*", "--out", join(dir, "y.arrow")])).err).toMatch(/ConfigError: record/);
    const other = join(dir, "other.safetensors");
    const lin = new Linear(2, 2);
    saveCheckpoint(lin, other, { modelName: "not-a-model" });
    lin.dispose();
    expect((await run(["inspect", "--checkpoint", other, inA, "--record", "blocks.*"])).err).toMatch(/unknown model "not-a-model"/);
    expect((await run(["inspect", inA])).err).toMatch(/ConfigError: inspect: needs --checkpoint/);
    expect((await run(["inspect", "report", join(dir, "missing.arrow")])).code).toBe(1);
  });
});
