import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { manualSeed } from "../../src/engine/random.js";
import { saveCheckpoint } from "../../src/models/brainomni/checkpoint.js";
import { DEMO_TOKENIZER } from "../../src/models/brainomni/config.js";
import { BrainTokenizer } from "../../src/models/brainomni/tokenizer.js";
import { runPipeline } from "../../src/pipeline/runner.js";
import { validatePipeline } from "../../src/pipeline/schema.js";
import { runMain } from "../helpers/cli.js";
import { ROOT } from "../helpers/shared.js";

let windows: string;
let checkpoint: string;

beforeAll(async () => {
  await initBackend();
  const input = mkdtempSync(join(tmpdir(), "nc-ft-in-"));
  copyFileSync(join(ROOT, "examples", "data", "sample.edf"), join(input, "s.edf"));
  windows = mkdtempSync(join(tmpdir(), "nc-ft-win-"));
  const pipeline = validatePipeline({
    stages: [{ pick: "eeg" }, { bandpass: [0.5, 40] }, { resample: 256 }, { window: { length: 2, stride: 1, annotations: { "eyes open": "open", "eyes closed": "closed" } } }, { write: "arrow" }],
  });
  await runPipeline(pipeline, { input, out: windows, workers: 1 });
  manualSeed(1);
  checkpoint = join(mkdtempSync(join(tmpdir(), "nc-ft-ck-")), "tok.safetensors");
  saveCheckpoint(new BrainTokenizer(DEMO_TOKENIZER), checkpoint);
}, 120_000);

describe("neurocode finetune / evaluate", () => {
  it("fine-tunes, writes model and report, evaluates with the same numbers, and resumes", async () => {
    const out = mkdtempSync(join(tmpdir(), "nc-ft-out-"));
    const args = ["finetune", "--checkpoint", checkpoint, "--data", windows, "--out", out, "--epochs", "2", "--batch", "8", "--lr", "0.003", "--log-json"];
    const r = await runMain(args);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split("\n").pop()!) as { balancedAccuracy: number; classes: string[]; n: number; epochs: number };
    expect(report.classes).toEqual(["closed", "open"]);
    expect(report.epochs).toBe(2);
    expect(existsSync(join(out, "model.safetensors"))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "report.json"), "utf8")).balancedAccuracy).toBe(report.balancedAccuracy);

    // Resuming a finished run trains nothing more and gives the same model.
    const before = readFileSync(join(out, "model.safetensors"));
    const again = await runMain([...args, "--resume"]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(out, "model.safetensors")).equals(before)).toBe(true);

    // evaluate on all windows: same classes, metrics in range, n = every labelled window.
    const ev = await runMain(["evaluate", "--checkpoint", join(out, "model.safetensors"), "--data", windows]);
    expect(ev.code, ev.stderr).toBe(0);
    const e = JSON.parse(ev.stdout) as { n: number; balancedAccuracy: number; auroc: number; classes: string[] };
    expect(e.classes).toEqual(["closed", "open"]);
    expect(e.n).toBe(55);
    expect(e.balancedAccuracy).toBeGreaterThanOrEqual(0);
    expect(e.auroc).toBeGreaterThanOrEqual(0);
  }, 300_000);

  it("takes labels from a CSV and names what is wrong with bad inputs", async () => {
    const labels = join(mkdtempSync(join(tmpdir(), "nc-ft-lab-")), "labels.csv");
    writeFileSync(labels, "file,window,label\ns.edf,0,a\ns.edf,1,b\ns.edf,2,a\ns.edf,3,b\n");
    const out = mkdtempSync(join(tmpdir(), "nc-ft-out-"));
    const r = await runMain(["finetune", "--checkpoint", checkpoint, "--data", windows, "--labels", labels, "--out", out, "--epochs", "1", "--val", "0.5", "--log-json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!).n).toBe(2);
    writeFileSync(labels, "file;window;label\n");
    const bad = await runMain(["finetune", "--checkpoint", checkpoint, "--data", windows, "--labels", labels, "--out", out]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/labels\.csv: header at byte 0: expected a header with file, window and label/);
    const wrong = await runMain(["evaluate", "--checkpoint", checkpoint, "--data", windows]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/not a fine-tuned classifier/);
  }, 300_000);
});
