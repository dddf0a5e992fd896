import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { readStateDict } from "../../src/nn/checkpoint.js";
import { golden } from "../helpers/shared.js";

let out = "";
let err = "";
beforeEach(() => {
  out = err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe("neurocode checkpoint", () => {
  it("info --json lists every tensor's name, dtype and shape", async () => {
    expect(await main(["checkpoint", "info", golden("nn/tiny.pt"), "--json"])).toBe(0);
    const j = JSON.parse(out);
    expect(j.format).toBe("pytorch");
    expect(j.numTensors).toBe(18);
    expect(j.tensors).toContainEqual({ name: "pconv.weight_g", dtype: "F32", shape: [3, 1, 1] });
    expect(j.tensors).toContainEqual({ name: "bn.num_batches_tracked", dtype: "I64", shape: [] });
  });

  it("info prints a table", async () => {
    expect(await main(["checkpoint", "info", golden("nn/dtypes.pt")])).toBe(0);
    expect(out).toMatch(/7 tensors/);
    expect(out).toMatch(/half\s+F16\s+\[3, 4\]/);
  });

  it("convert writes safetensors with the same tensors", async () => {
    const dst = join(mkdtempSync(join(tmpdir(), "neurocode-cli-")), "tiny.safetensors");
    expect(await main(["checkpoint", "convert", golden("nn/tiny.pt"), dst, "--model", "tiny"])).toBe(0);
    const a = readStateDict(dst);
    const b = readStateDict(golden("nn/tiny.pt"));
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [n, t] of a) expect(Array.from(t.data), n).toEqual(Array.from(b.get(n)!.data));
  });

  it("a malicious checkpoint fails with one FormatError line and exit code 1", async () => {
    expect(await main(["checkpoint", "info", golden("nn/malicious.pt")])).toBe(1);
    expect(err).toMatch(/^neurocode: FormatError: .*not allowed/);
  });
});
