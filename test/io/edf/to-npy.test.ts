import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, FileAccessError, FormatError } from "../../../src/errors.js";
import { edfToNpy } from "../../../src/io/edf/to-npy.js";
import { readNpy } from "../../../src/io/npy.js";
import { readRecording, writeRecording } from "../../../src/io/open.js";
import { sharedData } from "../../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "neurocode-edf-npy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = { onWarning: () => {} };

/** The .npy bytes of the whole-Recording path: `readRecording`, then `writeRecording`. */
function wholePath(input: string, name: string, opts: { channels?: string[]; rate?: number } = {}): Buffer {
  const out = join(dir, `${name}.whole.npy`);
  writeRecording(out, readRecording(input, { ...quiet, ...opts }));
  return readFileSync(out);
}

// Every EDF/BDF in the shared data, with the rate to pick where signals have several.
const FILES: [string, { rate?: number }][] = [
  ["external/mne-python/test.edf", {}],
  ["external/mne-python/test.bdf", {}],
  ["external/mne-python/test_edf_stim_channel.edf", {}],
  ["external/mne-python/test_uneven_samp.edf", { rate: 100 }],
  ["external/edfio/short_psg.edf", { rate: 100 }],
  ["external/edfio/test_subsecond.edf", {}],
  ["external/edfio/SC4001EC-Hypnogram.edf", {}],
  ["external/pyedflib/test_generator.edf", { rate: 200 }],
];

describe("edfToNpy streams the bytes the whole-Recording path writes", () => {
  it.each(FILES)("%s", async (rel, opts) => {
    const input = sharedData(rel);
    const name = rel.replaceAll("/", "_");
    const want = wholePath(input, name, opts);
    // Default chunks, and chunks of a few samples (chunk edges inside records, many chunks).
    for (const chunkBytes of [undefined, 4 * 37 * 8]) {
      const out = join(dir, `${name}.${chunkBytes ?? "default"}.npy`);
      const r = await edfToNpy(input, out, { ...quiet, ...opts, chunkBytes });
      expect(readFileSync(out).equals(want)).toBe(true);
      const arr = readNpy(out);
      expect(arr.shape).toEqual([r.nChannels, r.nSamples]);
    }
  });

  it("picks channels in the order asked, like readRecording", async () => {
    const input = sharedData("external/mne-python/test.bdf");
    const names = readRecording(input, quiet).channels.map((c) => c.name);
    const channels = [names[5]!, names[0]!, names[17]!];
    const want = wholePath(input, "picked", { channels });
    const out = join(dir, "picked.npy");
    await edfToNpy(input, out, { ...quiet, channels, chunkBytes: 4 * 3 * 100 });
    expect(readFileSync(out).equals(want)).toBe(true);
  });

  it("repairs a truncated file as readRecording does (whole records only, with a warning)", async () => {
    const bytes = readFileSync(sharedData("external/mne-python/test.edf"));
    const cut = join(dir, "cut.edf");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
    const warned: string[] = [];
    const out = join(dir, "cut.npy");
    const r = await edfToNpy(cut, out, { onWarning: (w) => warned.push(w.code) });
    expect(warned.length).toBeGreaterThan(0);
    expect(readFileSync(out).equals(wholePath(cut, "cut"))).toBe(true);
    expect(r.nSamples).toBeLessThan(readRecording(sharedData("external/mne-python/test.edf"), quiet).data.shape[1]!);
  });

  it("fails as readRecording does, leaving no output: unknown channel, several rates, missing file, corrupt header", async () => {
    const out = join(dir, "fail.npy");
    await expect(edfToNpy(sharedData("external/mne-python/test.edf"), out, { ...quiet, channels: ["nope"] })).rejects.toBeInstanceOf(ConfigError);
    await expect(edfToNpy(sharedData("external/edfio/short_psg.edf"), out, quiet)).rejects.toThrow(/different sampling rates/);
    await expect(edfToNpy(join(dir, "missing.edf"), out, quiet)).rejects.toBeInstanceOf(FileAccessError);
    const bytes = readFileSync(sharedData("external/mne-python/test.edf"));
    bytes.write("ab  ", 252, "latin1"); // the number of signals
    const bad = join(dir, "bad.edf");
    writeFileSync(bad, bytes);
    await expect(edfToNpy(bad, out, quiet)).rejects.toBeInstanceOf(FormatError);
    expect(() => readRecording(bad, quiet)).toThrow(FormatError);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
