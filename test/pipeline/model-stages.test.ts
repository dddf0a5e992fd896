import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { readArrow } from "../../src/io/arrow.js";
import { readRecording } from "../../src/io/open.js";
import { tokenizeRecording } from "../../src/models/brainomni/api.js";
import { bundledTokenizerPath, loadTokenizer } from "../../src/models/brainomni/checkpoint.js";
import { runPipeline } from "../../src/pipeline/runner.js";
import { loadPipeline, validatePipeline } from "../../src/pipeline/schema.js";
import { ConfigError } from "../../src/errors.js";
import { ROOT } from "../helpers/shared.js";

let input: string;
beforeAll(async () => {
  await initBackend();
  input = mkdtempSync(join(tmpdir(), "nc-tok-in-"));
  copyFileSync(join(ROOT, "examples", "data", "sample.edf"), join(input, "s.edf"));
});

describe("pipeline model stages", () => {
  it("pipelines/tokenize.yaml gives exactly the codes of the tokenizeRecording API", async () => {
    const out = mkdtempSync(join(tmpdir(), "nc-tok-out-"));
    const summary = await runPipeline(loadPipeline(join(ROOT, "pipelines", "tokenize.yaml")), { input, out, workers: 1 });
    expect(summary.failed).toEqual([]);
    const t = readArrow(join(out, "s.arrow"));
    expect(JSON.parse(t.schema.metadata.get("codes.shape")!)).toEqual([16, 8, 4]);
    expect(t.getChild("data")).toBeNull(); // codes replace the windows' samples
    const api = tokenizeRecording(loadTokenizer(bundledTokenizerPath()), readRecording(join(input, "s.edf")));
    expect(t.numRows).toBe(api.segments.length);
    api.segments.forEach((seg, i) => {
      expect(Array.from(t.getChild("codes")!.get(i)!.toArray() as Int32Array), `window ${i}`).toEqual(Array.from(seg.codes));
      expect(t.getChild("start_time")!.get(i)).toBeCloseTo(seg.startTime, 9);
    });
  }, 180_000);

  it("embed writes one feature vector per window; misuse is a ConfigError naming the stage", async () => {
    const out = mkdtempSync(join(tmpdir(), "nc-emb-out-"));
    const p = validatePipeline({ stages: [{ pick: "eeg" }, { resample: 256 }, { window: { length: 2 } }, { embed: null }, { write: "arrow" }] });
    await runPipeline(p, { input, out, workers: 1 });
    const t = readArrow(join(out, "s.arrow"));
    expect(t.numRows).toBe(30);
    const e = t.getChild("embedding")!.get(0)!.toArray() as Float32Array;
    expect(e.length).toBe(32); // the demo tokenizer's latent width
    expect(e.every(Number.isFinite)).toBe(true);
    expect(() => validatePipeline({ stages: [{ tokenize: {} }, { window: { length: 2 } }, { write: "arrow" }] })).toThrow(/stages\[0\].*tokenize must come right after window/);
    const wrongRate = validatePipeline({ stages: [{ pick: "eeg" }, { resample: 128 }, { window: { length: 2 } }, { tokenize: {} }, { write: "arrow" }] });
    const r = await runPipeline(wrongRate, { input, out: mkdtempSync(join(tmpdir(), "nc-tok-bad-")), workers: 1 });
    expect(r.failed[0]!.reason).toMatch(/ConfigError: tokenize: BrainOmni needs windows at 256 Hz/);
    expect(ConfigError).toBeDefined();
  }, 180_000);
});
