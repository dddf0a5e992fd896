import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { DEMO_TOKENIZER } from "../../src/models/brainomni/config.js";
import { loadTokenizer } from "../../src/models/brainomni/checkpoint.js";
import { pretrainTokenizer, type PretrainOptions } from "../../src/train/pretrain.js";
import { ROOT, sharedData } from "../helpers/shared.js";

beforeAll(async () => {
  await initBackend();
});

const files = [join(ROOT, "examples", "data", "sample.edf"), sharedData("generated/neuromag_raw.fif")];

function run(out: string, extra: Partial<PretrainOptions> = {}) {
  manualSeed(3);
  return pretrainTokenizer({ files, config: DEMO_TOKENIZER, steps: 6, batchSize: 2, lr: 2e-3, simulatedFraction: 0.3, out, resume: true, saveEvery: 2, ...extra });
}

describe("tokenizer pretraining (neurocode train)", () => {
  it("resumes to exactly the weights of an uninterrupted run, on EEG and MEG recordings", () => {
    const a = run(mkdtempSync(join(tmpdir(), "nc-pre-a-")));
    expect(a.steps).toBe(6);
    expect(Number.isFinite(a.last!.loss)).toBe(true);
    const outB = mkdtempSync(join(tmpdir(), "nc-pre-b-"));
    const first = run(outB, { maxSteps: 3 });
    expect(first.interrupted).toBe(true);
    manualSeed(999); // the state file, not the seed, must decide what happens next
    const b = pretrainTokenizer({ files, config: DEMO_TOKENIZER, steps: 6, batchSize: 2, lr: 2e-3, simulatedFraction: 0.3, out: outB, resume: true, saveEvery: 2 });
    expect(b.steps).toBe(6);
    const wa = new Map(a.tokenizer.stateDict());
    for (const [n, t] of b.tokenizer.stateDict()) expect(Array.from(t.dataSync()), n).toEqual(Array.from(wa.get(n)!.dataSync()));
    // The final checkpoint loads as a tokenizer.
    expect(existsSync(join(outB, "tokenizer.safetensors"))).toBe(true);
    expect(loadTokenizer(join(outB, "tokenizer.safetensors")).cfg.nDim).toBe(DEMO_TOKENIZER.nDim);
  }, 300_000);
});

describe("neurocode train", () => {
  it("trains from a YAML config, resumes, and names bad keys", async () => {
    const { runMain } = await import("../helpers/cli.js");
    const { writeFileSync } = await import("node:fs");
    const dir = mkdtempSync(join(tmpdir(), "nc-train-cli-"));
    const cfg = join(dir, "t.yaml");
    writeFileSync(cfg, "config: demo\ndata:\n  simulated: 1\nsteps: 2\nbatch: 2\nsaveEvery: 1\n");
    const r = await runMain(["train", cfg, "--out", join(dir, "run"), "--log-json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l).step)).toEqual([1, 2]);
    const again = await runMain(["train", cfg, "--out", join(dir, "run"), "--resume", "--log-json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(""); // already complete: nothing left to train
    writeFileSync(cfg, "steps: -3\n");
    const bad = await runMain(["train", cfg, "--out", join(dir, "run2")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/steps: expected a positive integer, got -3/);
  }, 120_000);
});
