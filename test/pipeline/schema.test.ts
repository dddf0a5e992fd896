import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipeline, validatePipeline } from "../../src/pipeline/schema.js";
import { globToRegExp } from "../../src/pipeline/inputs.js";
import { ConfigError } from "../../src/errors.js";
import { ROOT } from "../helpers/shared.js";

function keyPathOf(doc: unknown): string {
  try {
    validatePipeline(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message;
  }
  throw new Error("expected a ConfigError");
}

describe("pipeline schema", () => {
  it("loads the bundled pipelines", () => {
    const p = loadPipeline(join(ROOT, "pipelines", "windows.yaml"));
    expect(p.stages.map((s) => s.kind)).toEqual(["pick", "bandpass", "resample", "window", "write"]);
    expect(p.stages[3]).toEqual({ kind: "window", window: { length: 2, stride: 2, last: "drop" } });
  });

  it("loads every bundled pipeline", () => {
    const p = loadPipeline(join(ROOT, "pipelines", "labelled-windows.yaml"));
    expect(p.stages.map((s) => s.kind)).toEqual(["pick", "bandpass", "resample", "window", "write"]);
    expect(p.stages[3]).toMatchObject({ window: { length: 2, stride: 1, annotations: { "eyes open": "open", "eyes closed": "closed" } } });
  });

  it("names the key path of every mistake", () => {
    const ok = [{ window: { length: 2 } }, { write: "arrow" }];
    expect(keyPathOf({ stages: [{ pick: "eeg" }, { resample: 128 }, { bandpass: [1] }, ...ok] })).toMatch(/^stages\[2\]\.bandpass: .*expected \[low, high\]/);
    expect(keyPathOf({ stages: [{ bandpass: [40, 1] }, ...ok] })).toMatch(/^stages\[0\]\.bandpass: .*low \(40\) must be below high \(1\)/);
    expect(keyPathOf({ stages: [{ window: { length: -1 } }, { write: "arrow" }] })).toMatch(/^stages\[0\]\.window\.length:/);
    expect(keyPathOf({ stages: [{ window: { length: 2, last: "pad" } }, { write: "arrow" }] })).toMatch(/^stages\[0\]\.window\.last:/);
    expect(keyPathOf({ stages: [{ window: { length: 2 } }, { write: "csv" }] })).toMatch(/^stages\[1\]\.write:/);
    expect(keyPathOf({ stages: [{ window: { length: 2 } }] })).toMatch(/last stage must be write/);
    expect(keyPathOf({ stages: [{ window: { length: 2 } }, { resample: 100 }, { write: "npy" }] })).toMatch(/^stages\[1\]: resample must come before window/);
    expect(keyPathOf({ stages: [{ filter: 1 }, { write: "npy" }] })).toMatch(/^stages\[0\]: expected exactly one of/);
    expect(keyPathOf({ read: { include: 3 }, stages: ok })).toMatch(/^read\.include:/);
    expect(keyPathOf({ stages: ok, extra: 1 })).toMatch(/^pipeline\.extra: unknown key/);
  });

  it("reports YAML syntax errors with line and column", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-yaml-"));
    const p = join(dir, "bad.yaml");
    writeFileSync(p, "stages:\n  - window: { length: 2\n  - write: arrow\n");
    expect(() => loadPipeline(p)).toThrow(ConfigError);
    expect(() => loadPipeline(p)).toThrow(/bad\.yaml:\d+:\d+/);
  });

  it("matches globs like a shell, case-insensitively", () => {
    const g = globToRegExp("**/*.{edf,bdf}");
    expect(g.test("a.edf")).toBe(true);
    expect(g.test("sub-01/ses-1/eeg/sub-01_eeg.EDF")).toBe(true);
    expect(g.test("a.fif")).toBe(false);
    expect(globToRegExp("sub-*/eeg/*.fif").test("sub-01/eeg/x.fif")).toBe(true);
    expect(globToRegExp("sub-*/eeg/*.fif").test("sub-01/meg/x.fif")).toBe(false);
  });
});
