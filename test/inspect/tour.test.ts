import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readActivations } from "../../src/inspect/arrow.js";
import { ROOT } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "nc-tour-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface TourJson {
  accuracy: number;
  voidFraction: Record<string, number>;
  sparsity: Record<string, number>;
  planted: { module: string; feature: number; bias: number };
  massive: { module: string; features: number[]; tokens: number; maxAbs: number }[];
  skip: { layer: string; voidFraction: number; outputChange: number; accuracyAfter: number };
  files: { checkpoint: string; activations: string };
}

describe("examples/inspect_tour.ts", () => {
  it("runs as written and reports the planted massive activation, voids, sparsity and the skip effect", () => {
    const stdout = execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "examples", "inspect_tour.ts"), "--out", dir], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, NEUROCODE_BACKEND: process.env.NEUROCODE_BACKEND ?? "wasm" },
    });
    const r = JSON.parse(stdout) as TourJson;
    expect(r.accuracy).toBeGreaterThan(0.9); // the task was learnt
    const layers = Object.keys(r.voidFraction);
    expect(layers).toEqual(["blocks.0", "blocks.1", "blocks.2", "blocks.3"]);
    for (const f of Object.values(r.voidFraction)) expect(f).toBeGreaterThanOrEqual(0), expect(f).toBeLessThanOrEqual(1);
    // the bias planted in block 1's feed-forward shows in block 1's output and every later residual state, at that feature, at every token
    expect(r.massive.map((m) => m.module)).toEqual(["blocks.1", "blocks.2", "blocks.3"]);
    for (const m of r.massive) {
      expect(m.features).toEqual([r.planted.feature]);
      expect(m.tokens).toBe(8 * 16);
      expect(m.maxAbs).toBeGreaterThan(0.9 * r.planted.bias);
    }
    for (const s of Object.values(r.sparsity)) expect(s).toBeGreaterThan(0), expect(s).toBeLessThan(1);
    expect(r.skip.voidFraction).toBe(Math.max(...Object.values(r.voidFraction)));
    expect(r.skip.outputChange).toBeGreaterThan(0);
    expect(r.skip.outputChange).toBeLessThanOrEqual(Math.SQRT2);
    expect(existsSync(r.files.checkpoint)).toBe(true);
    const t = readActivations(r.files.activations);
    expect(t.module.length).toBe(8 * 8 * 16);
    expect(t.meta.extra.model).toBe("tour-transformer");
  }, 180_000);
});
