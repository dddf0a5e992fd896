/** Shared output buffers: zeroed, shared, and reclaimed by the garbage collector like plain ones. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { sharedSamples } from "../../src/signal/parallel.js";

describe("sharedSamples", () => {
  it("is zeroed float32 storage in shared memory", () => {
    const a = sharedSamples(1000);
    expect(a.length).toBe(1000);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.every((v) => v === 0)).toBe(true);
  });

  it("does not pile up: dead outputs are collected (V8 alone never counts shared memory)", () => {
    const mod = pathToFileURL(join(import.meta.dirname, "../../src/signal/parallel.ts")).href;
    // Twelve 80 MB outputs, each filled and dropped; without the ballast the resident set grows by 80 MB each time (~840 MB).
    const script = `import { sharedSamples } from ${JSON.stringify(mod)};
const rss0 = process.memoryUsage().rss;
let peak = 0;
for (let i = 0; i < 12; i++) { const a = sharedSamples(20e6); a.fill(1); peak = Math.max(peak, process.memoryUsage().rss - rss0); }
console.log(peak);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const growthMB = Number(r.stdout.trim()) / 2 ** 20;
    expect(growthMB).toBeGreaterThanOrEqual(80);
    // A few outputs may be alive between collections (measured ~150 MB); twelve would be 960.
    expect(growthMB).toBeLessThan(400);
  });
});
