import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readStateDict } from "../../src/nn/checkpoint.js";
import { runMain } from "../helpers/cli.js";
import { golden } from "../helpers/shared.js";

describe("neurocode checkpoint", () => {
  it("info --json lists every tensor's name, dtype and shape", async () => {
    const r = await runMain(["checkpoint", "info", golden("nn/tiny.pt"), "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe("pytorch");
    expect(j.numTensors).toBe(18);
    expect(j.tensors).toContainEqual({ name: "pconv.weight_g", dtype: "F32", shape: [3, 1, 1] });
    expect(j.tensors).toContainEqual({ name: "bn.num_batches_tracked", dtype: "I64", shape: [] });
  });

  it("info prints a table", async () => {
    const r = await runMain(["checkpoint", "info", golden("nn/dtypes.pt")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/7 tensors/);
    expect(r.stdout).toMatch(/half\s+F16\s+\[3, 4\]/);
  });

  it("convert writes safetensors with the same tensors", async () => {
    const dst = join(mkdtempSync(join(tmpdir(), "neurocode-cli-")), "tiny.safetensors");
    expect((await runMain(["checkpoint", "convert", golden("nn/tiny.pt"), dst, "--model", "tiny"])).code).toBe(0);
    const a = readStateDict(dst);
    const b = readStateDict(golden("nn/tiny.pt"));
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [n, t] of a) expect(Array.from(t.data), n).toEqual(Array.from(b.get(n)!.data));
  });

  it("a malicious checkpoint fails with one FormatError line and exit code 1", async () => {
    const r = await runMain(["checkpoint", "info", golden("nn/malicious.pt")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^neurocode: FormatError: .*not allowed/);
  });
});
