import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openAtomic } from "../../src/io/atomic.js";

const dir = mkdtempSync(join(tmpdir(), "neurocode-atomic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (...v: number[]) => Uint8Array.from(v);

describe("openAtomic", () => {
  it("appends, writes at positions, flushes in the background, and shows the file only after commit", async () => {
    const path = join(dir, "a.bin");
    const f = openAtomic(path);
    f.write(bytes(1, 2));
    f.writeAt(bytes(9), 5);
    f.writeAt(bytes(7, 7), 3);
    const flushed = f.flushAsync();
    f.writeAt(new Uint8Array(1000).fill(4), 6);
    f.write(bytes(3)); // the append position is not moved by positioned writes
    expect(() => f.commit()).toThrow(/in flight/);
    await f.settled();
    await flushed;
    expect(existsSync(path)).toBe(false);
    f.commit();
    const got = new Uint8Array(readFileSync(path));
    expect(Array.from(got.subarray(0, 7))).toEqual([1, 2, 3, 7, 7, 9, 4]);
    expect(got.length).toBe(1006);
    expect(got.subarray(6).every((b) => b === 4)).toBe(true);
    expect(readdirSync(dir)).toEqual(["a.bin"]);
    expect(() => f.writeAt(bytes(1), 0)).toThrow(/after commit/);
  });

  it("abort after a background flush removes the temporary file and leaves an older file alone", async () => {
    const path = join(dir, "a.bin");
    const before = readFileSync(path);
    const f = openAtomic(path);
    f.writeAt(new Uint8Array(1 << 16), 0);
    void f.flushAsync();
    expect(() => f.abort()).toThrow(/in flight/);
    expect(existsSync(f.tempPath)).toBe(true);
    await f.settled();
    f.abort();
    expect(existsSync(f.tempPath)).toBe(false);
    expect(readFileSync(path).equals(before)).toBe(true);
    await expect(f.flushAsync()).rejects.toThrow(/after commit\/abort/);
  });
});
