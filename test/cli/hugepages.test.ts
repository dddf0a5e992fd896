/** The CLI's restart with glibc's huge-page tunable: when it happens, and that the child runs the same command line. */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hugePagesTunables, rerunWithHugePages } from "../../src/cli/hugepages.js";

describe("hugePagesTunables", () => {
  it("restarts only heavy commands, only in madvise mode, never twice, and honours the opt-out", () => {
    expect(hugePagesTunables("preprocess", {}, "madvise")).toBe("glibc.malloc.hugetlb=1");
    expect(hugePagesTunables("tokenize", { GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }, "madvise")).toBe("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
    expect(hugePagesTunables("run", {}, "madvise")).toBeNull();
    expect(hugePagesTunables("preprocess", { GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" }, "madvise")).toBeNull();
    expect(hugePagesTunables("preprocess", { NEUROCODE_HUGEPAGES: "0" }, "madvise")).toBeNull();
    expect(hugePagesTunables("info", {}, "madvise")).toBeNull();
    expect(hugePagesTunables("convert", {}, "madvise")).toBeNull();
    expect(hugePagesTunables(undefined, {}, "madvise")).toBeNull();
    expect(hugePagesTunables("preprocess", {}, "always")).toBeNull();
    expect(hugePagesTunables("preprocess", {}, "never")).toBeNull();
    expect(hugePagesTunables("preprocess", {}, null)).toBeNull();
  });

  it("runs the same command line in a child with the tunable and returns its exit code", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-huge-"));
    const script = join(dir, "child.mjs");
    const seen = join(dir, "seen.json");
    writeFileSync(script, `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(seen)}, JSON.stringify({ tunables: process.env.GLIBC_TUNABLES, argv: process.argv.slice(2) }));\nprocess.exit(3);\n`);
    const saved = process.env["GLIBC_TUNABLES"];
    delete process.env["GLIBC_TUNABLES"];
    try {
      expect(rerunWithHugePages([process.execPath, script, "preprocess", "in.edf", "--notch", "50"], "madvise")).toBe(3);
    } finally {
      if (saved !== undefined) process.env["GLIBC_TUNABLES"] = saved;
    }
    expect(JSON.parse(readFileSync(seen, "utf8"))).toEqual({ tunables: "glibc.malloc.hugetlb=1", argv: ["preprocess", "in.edf", "--notch", "50"] });
    expect(rerunWithHugePages([process.execPath, script, "info", "x.edf"], "madvise")).toBeNull();
  });
});

describe("exitWithParent", () => {
  it("ends the restarted child when its parent is killed, even inside synchronous work", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-orphan-"));
    const mod = pathToFileURL(join(import.meta.dirname, "../../src/cli/hugepages.ts")).href;
    const marker = join(dir, "finished");
    const child = join(dir, "child.mjs");
    const parent = join(dir, "parent.mjs");
    // The child: the watchdog, then 1.5 s of synchronous work, then a marker that must never appear.
    const started = join(dir, "started");
    writeFileSync(child, `import { exitWithParent } from ${JSON.stringify(mod)};\nimport { writeFileSync } from "node:fs";\nexitWithParent();\nwriteFileSync(${JSON.stringify(started)}, "");\nconst t = Date.now(); while (Date.now() - t < 1500) {}\nwriteFileSync(${JSON.stringify(marker)}, "orphan ran on");\n`);
    writeFileSync(parent, `import { rerunWithHugePages } from ${JSON.stringify(mod)};\nprocess.exit(rerunWithHugePages([process.execPath, ${JSON.stringify(child)}, "preprocess"], "madvise") ?? 99);\n`);
    const env = { ...process.env };
    delete env["GLIBC_TUNABLES"];
    // tsx loads the TypeScript module in the parent and, through execArgv, in the child.
    const p = spawn(process.execPath, ["--import", "tsx", parent], { env, stdio: "ignore" });
    for (let i = 0; i < 100 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(started)).toBe(true);
    p.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 2000));
    expect(existsSync(marker)).toBe(false);
  }, 20_000);
});
