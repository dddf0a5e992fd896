import { execFileSync } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHUNK_BYTES } from "../../../src/io/edf/reader.js";
import { writeEdf } from "../../../src/io/edf/writer.js";
import { createRecording } from "../../../src/recording/recording.js";
import { ROOT } from "../../helpers/shared.js";

describe("memory", () => {
  it("reading keeps the float32 data plus one chunk buffer: no copy of the file, no float64 staging", () => {
    // 64 channels × 10 min at 256 Hz: a 20 MB file, 38 MB of float32.
    const nc = 64;
    const ns = 600 * 256;
    const rows: Float32Array[] = [];
    for (let c = 0; c < nc; c++) {
      const row = new Float32Array(ns);
      for (let k = 0; k < ns; k++) row[k] = 1e-5 * Math.sin(k * (c + 1) * 0.001);
      rows.push(row);
    }
    const path = join(mkdtempSync(join(tmpdir(), "nc-edf-mem-")), "mem.edf");
    writeEdf(path, createRecording({ data: rows, sfreq: 256, channels: rows.map((_, c) => ({ name: `EEG ${c}`, kind: "eeg", unit: "V", origUnit: "uV" })) }), { onWarning: () => {} });
    expect(statSync(path).size).toBeGreaterThan(19e6);

    // Measured in a fresh process after a full GC, with the kernel's RSS high-water mark reset before the read.
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", join(ROOT, "test/io/edf/memory-child.ts"), path], { encoding: "utf8", cwd: ROOT });
    const m = JSON.parse(out) as { dataBytes: number; peakRssGrowth: number; arrayBufferGrowth: number };
    expect(m.dataBytes).toBe(nc * ns * 4);
    // Alive after the read: the data and the chunk buffer (the file handle's buffer goes with close()).
    expect(m.arrayBufferGrowth).toBeLessThanOrEqual(m.dataBytes + CHUNK_BYTES + (1 << 20));
    // A whole-file read would add 20 MB at the peak, float64 staging 77 MB; 8 MB is left for the JavaScript heap.
    expect(m.peakRssGrowth).toBeLessThanOrEqual(m.dataBytes + CHUNK_BYTES + (8 << 20));
    expect(m.peakRssGrowth).toBeGreaterThanOrEqual(m.dataBytes * 0.9);
  });
});
