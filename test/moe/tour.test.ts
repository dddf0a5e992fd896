import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/shared.js";

interface MoeTourJson {
  upcycleMaxAbsDiff: number;
  auxLossUniform: number;
  zLossZeroLogits8: number;
  accuracy: { dense: number; upcycled: number; moe: number; merged: number; compressed: number };
  parameters: Record<"denseModel" | "moeModel" | "mergedModel" | "compressedModel" | "expertsUpcycled" | "expertsMerged" | "expertsCompressed", number>;
  groups: number[];
  usage: number[];
  compressionError: number;
  droppedFraction: number;
}

describe("examples/moe_tour.ts", () => {
  it("runs as written: upcycling is exact, the known losses come out, merging and compression shrink the model and keep it working", () => {
    const stdout = execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "examples", "moe_tour.ts")], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, NEUROCODE_BACKEND: process.env.NEUROCODE_BACKEND ?? "wasm" },
    });
    const r = JSON.parse(stdout) as MoeTourJson;
    expect(r.upcycleMaxAbsDiff).toBeLessThan(1e-4);
    expect(r.auxLossUniform).toBeCloseTo(1, 5);
    expect(r.zLossZeroLogits8).toBeCloseTo(Math.log(8) ** 2, 4);
    const a = r.accuracy;
    expect(a.dense).toBeGreaterThan(0.75); // chance is 1/3
    expect(Math.abs(a.upcycled - a.dense)).toBeLessThanOrEqual(0.005);
    expect(a.moe).toBeGreaterThan(0.75);
    expect(a.merged).toBeGreaterThan(0.7);
    expect(a.compressed).toBeGreaterThan(0.6);
    const p = r.parameters;
    expect(p.expertsMerged * 2).toBe(p.expertsUpcycled);
    expect(p.expertsCompressed).toBeLessThan(p.expertsMerged);
    expect(p.moeModel).toBeGreaterThan(p.mergedModel);
    expect(p.mergedModel).toBeGreaterThan(p.compressedModel);
    expect(new Set(r.groups).size).toBe(2);
    expect(r.usage.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 3);
    expect(r.compressionError).toBeGreaterThan(0);
    expect(r.compressionError).toBeLessThan(1);
    expect(r.droppedFraction).toBeGreaterThanOrEqual(0);
    expect(r.droppedFraction).toBeLessThan(0.5);
  });
});
