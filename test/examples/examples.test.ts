import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readArrow } from "../../src/io/arrow.js";
import { ROOT } from "../helpers/shared.js";

/** Runs an example exactly as a user would (`npx tsx examples/NAME.ts ARGS`) and parses its JSON line. */
function runExample(name: string, args: string[]): Record<string, unknown> {
  const out = execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "examples", name), ...args], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const last = out.trim().split("\n").pop()!;
  return JSON.parse(last) as Record<string, unknown>;
}

const sample = join(ROOT, "examples", "data", "sample.edf");

describe("examples run as written", () => {
  it("psd.ts: alpha rises with the eyes closed over occipital channels, and the plot is written", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-ex-"));
    const r = runExample("psd.ts", [sample, join(dir, "psd.svg")]) as { alphaClosedOverOpen: Record<string, number> };
    // The sample's alpha amplitude is 30 µV closed vs 6 µV open: a power ratio near 25.
    expect(r.alphaClosedOverOpen.O1).toBeGreaterThan(15);
    expect(r.alphaClosedOverOpen.O2).toBeGreaterThan(15);
    expect(r.alphaClosedOverOpen.O1).toBeGreaterThan(r.alphaClosedOverOpen.Fp1!);
    expect(readFileSync(join(dir, "psd.svg"), "utf8")).toMatch(/^<svg[\s\S]*<polyline[\s\S]*<\/svg>\n$/);
  }, 120_000);

  it("windows_to_arrow.ts: labelled windows that pandas can read", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-ex-"));
    const out = join(dir, "w.arrow");
    const r = runExample("windows_to_arrow.ts", [sample, out]) as { rows: number; counts: Record<string, number> };
    // eyes open 10+10+5 s, eyes closed 20+15 s; 2-s windows every 1 s inside each.
    expect(r.counts).toEqual({ open: 9 + 9 + 4, closed: 19 + 14 });
    const t = readArrow(out);
    expect(t.numRows).toBe(r.rows);
    expect(t.getChild("label")!.toArray().slice(0, 2)).toEqual(["open", "open"]);
  }, 120_000);
});

describe("examples with the bundled BrainOmni demo tokenizer", () => {
  it("tokenize_counts.ts: every 2-s segment inside an eyes-open/closed annotation is tokenized into 16 sources × 8 frames × 4 levels", () => {
    const r = runExample("tokenize_counts.ts", [sample]) as { windows: Record<string, number>; sources: number; framesPerSegment: number; quantizers: number; tvDistance: number };
    // 30 segments of 2 s; by their middles: open 0–10, 30–40, 55–60 s → 5 + 5 + 3, closed 10–30, 40–55 s → 10 + 7.
    expect(r.windows).toEqual({ "eyes open": 13, "eyes closed": 17 });
    expect([r.sources, r.framesPerSegment, r.quantizers]).toEqual([16, 8, 4]);
    expect(r.tvDistance).toBeGreaterThanOrEqual(0);
    expect(r.tvDistance).toBeLessThanOrEqual(1);
  }, 120_000);

  it("finetune_classifier.ts: the pretrained encoder beats chance widely and beats the same network from scratch", () => {
    const r = runExample("finetune_classifier.ts", [sample]) as { pretrained: { balancedAccuracy: number }; fromScratch: { balancedAccuracy: number } };
    expect(r.pretrained.balancedAccuracy).toBeGreaterThanOrEqual(0.8); // chance: 0.5
    expect(r.pretrained.balancedAccuracy).toBeGreaterThan(r.fromScratch.balancedAccuracy + 0.2);
  }, 180_000);
});
