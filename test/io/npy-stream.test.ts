import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ValueError } from "../../src/errors.js";
import { encodeNpy } from "../../src/io/npy.js";
import { writeNpyChunked } from "../../src/io/npy-stream.js";

const dir = mkdtempSync(join(tmpdir(), "neurocode-npy-stream-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Channel c, sample t of the planted array: unique per position, so any misplaced value shows. */
const value = (c: number, t: number) => c * 1000 + t + 0.25;

function plantedReader(nChannels: number) {
  const calls: [number, number][] = [];
  const read = (start: number, stop: number, rows: Float32Array[]) => {
    calls.push([start, stop]);
    expect(rows).toHaveLength(nChannels);
    for (let c = 0; c < nChannels; c++) for (let t = start; t < stop; t++) rows[c]![t - start] = value(c, t);
  };
  return { read, calls };
}

describe("writeNpyChunked", () => {
  it("writes the same bytes as encodeNpy of the whole array, for any chunk length", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 60 }), async (nc, ns, chunk) => {
        const whole = new Float32Array(nc * ns);
        for (let c = 0; c < nc; c++) for (let t = 0; t < ns; t++) whole[c * ns + t] = value(c, t);
        const out = join(dir, "prop.npy");
        const { read, calls } = plantedReader(nc);
        await writeNpyChunked(out, nc, ns, read, { chunkBytes: 4 * Math.max(1, nc) * chunk });
        expect(Buffer.from(readFileSync(out)).equals(Buffer.from(encodeNpy({ dtype: "float32", shape: [nc, ns], data: whole })))).toBe(true);
        // Chunks tile [0, ns) in order, each at most `chunk` long.
        expect(calls.map(([a]) => a)).toEqual(Array.from({ length: Math.ceil(ns / chunk) }, (_, i) => i * chunk));
        expect(calls.every(([a, b]) => b - a <= chunk && b > a)).toBe(true);
        if (ns > 0) expect(calls.at(-1)![1]).toBe(ns);
      }),
      { numRuns: 60 },
    );
  });

  it("nothing appears at the path before the last chunk is in, and a failed read leaves no file, no temp file and an older file intact", async () => {
    const out = join(dir, "fail.npy");
    const seen: boolean[] = [];
    await writeNpyChunked(out, 2, 10, (start, stop, rows) => {
      seen.push(existsSync(out));
      rows.forEach((r) => r.fill(start, 0, stop - start));
    }, { chunkBytes: 8 * 3 });
    expect(seen).toEqual([false, false, false, false]);
    expect(existsSync(out)).toBe(true);
    const old = readFileSync(out);
    const boom = new Error("disk gone");
    await expect(
      writeNpyChunked(out, 2, 10, (start) => {
        if (start >= 6) throw boom;
      }, { chunkBytes: 8 * 3 }),
    ).rejects.toThrow(boom);
    expect(readFileSync(out).equals(old)).toBe(true);
    const fresh = join(dir, "never.npy");
    await expect(writeNpyChunked(fresh, 2, 10, () => { throw boom; })).rejects.toThrow(boom);
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("rejects shapes and chunk sizes that are not", async () => {
    const out = join(dir, "bad.npy");
    writeFileSync(out, "keep");
    await expect(writeNpyChunked(out, -1, 3, () => {})).rejects.toThrow(ValueError);
    await expect(writeNpyChunked(out, 2, 1.5, () => {})).rejects.toThrow(ValueError);
    await expect(writeNpyChunked(out, 2, 3, () => {}, { chunkBytes: 0 })).rejects.toThrow(ValueError);
    expect(readFileSync(out, "utf8")).toBe("keep");
  });
});
