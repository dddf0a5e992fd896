import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { FileAccessError, ValueError } from "../../../src/errors.js";
import { readFif, type FifHeader } from "../../../src/io/fif/read.js";
import { fifToNpy } from "../../../src/io/fif/to-npy.js";
import { writeFif } from "../../../src/io/fif/writer.js";
import { readNpy } from "../../../src/io/npy.js";
import { readRecording, writeRecording } from "../../../src/io/open.js";
import { cropSamples } from "../../../src/recording/recording.js";
import { sharedData } from "../../helpers/shared.js";
import { skipBuffer } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "neurocode-fif-npy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = { onWarning: () => {} };

const wholeCache = new Map<string, Buffer>();
/** The .npy bytes of the non-streaming path: the whole Recording in memory, then `writeRecording`. */
function wholePath(input: string, name: string, channels?: string[]): Buffer {
  const out = join(dir, `${name}.whole.npy`);
  if (!wholeCache.has(out)) {
    writeRecording(out, readRecording(input, { ...quiet, channels }));
    wholeCache.set(out, readFileSync(out));
  }
  return wholeCache.get(out)!;
}

/** The .npy bytes of `fifToNpy` with chunks of `chunkSamples` samples of every channel. */
async function streamed(input: string, name: string, nChannels: number, chunkSamples: number, channels?: string[], flushBytes?: number): Promise<Buffer> {
  const out = join(dir, `${name}.stream.npy`);
  const r = await fifToNpy(input, out, { ...quiet, channels, chunkBytes: 4 * nChannels * chunkSamples, flushBytes });
  expect(r.nChannels).toBe(nChannels);
  return readFileSync(out);
}

const neuromag = sharedData("generated/neuromag_raw.fif");
const mneC = sharedData("external/mne-python/test_bin_raw.fif");

describe("fifToNpy: FIF → .npy a chunk at a time, equal to the whole-recording path byte for byte", () => {
  it("float buffers of 601 samples, chunks that straddle buffers and do not divide the 3003 samples", async () => {
    const whole = wholePath(neuromag, "neuromag");
    for (const chunk of [97, 1000, 601, 5000]) expect((await streamed(neuromag, `neuromag${chunk}`, 376, chunk)).equals(whole)).toBe(true);
    // With background flushes to disk between chunks.
    expect((await streamed(neuromag, "neuromag-flushed", 376, 300, undefined, 1)).equals(whole)).toBe(true);
    // And what is written is the data: shape, and a value against the Recording.
    const arr = readNpy(join(dir, "neuromag1000.stream.npy"));
    expect(arr.shape).toEqual([376, 3003]);
    const rec = readFif(neuromag, quiet);
    expect(arr.data[200 * 3003 + 2999]).toBe(rec.data.get(200, 2999));
    expect(arr.data[375 * 3003]).toBe(rec.data.get(375, 0));
  });

  it("MNE-C DAU_PACK16 buffers with a directory, and a picked subset in the order asked", async () => {
    expect((await streamed(mneC, "mnec", 33, 777)).equals(wholePath(mneC, "mnec"))).toBe(true);
    const names = ["EEG 003", "STI 014", "EEG 001"];
    expect((await streamed(mneC, "mnec-pick", 3, 3000, names)).equals(wholePath(mneC, "mnec-pick", names))).toBe(true);
    await expect(fifToNpy(mneC, join(dir, "x.npy"), { ...quiet, channels: ["nope"] })).rejects.toThrow(ValueError);
    expect(existsSync(join(dir, "x.npy"))).toBe(false);
  });

  it("a .fif.gz file", async () => {
    const gz = join(dir, "bin_raw.fif.gz");
    writeFileSync(gz, gzipSync(readFileSync(mneC)));
    expect((await streamed(gz, "gz", 33, 1500)).equals(wholePath(mneC, "mnec"))).toBe(true);
  });

  it("split files (chunks crossing from one part to the next)", async () => {
    const out = join(dir, "split_raw.fif");
    writeFif(out, readFif(neuromag, quiet), { splitSize: 2_000_000 });
    expect(existsSync(join(dir, "split_raw-1.fif"))).toBe(true);
    expect((readFif(out, quiet).source.header as FifHeader).paths.length).toBeGreaterThan(1);
    expect((await streamed(out, "split", 376, 700)).equals(wholePath(out, "split"))).toBe(true);
  });

  it("data skips read as zeros inside a chunk", async () => {
    const small = join(dir, "small_raw.fif");
    writeFif(small, cropSamples(readFif(mneC, quiet), 0, 3000));
    const skipped = join(dir, "skip_raw.fif");
    writeFileSync(skipped, skipBuffer(new Uint8Array(readFileSync(small)), 1));
    const bytes = await streamed(skipped, "skip", 33, 1700);
    expect(bytes.equals(wholePath(skipped, "skip"))).toBe(true);
    const arr = readNpy(join(dir, "skip.stream.npy"));
    expect(arr.data.subarray(5 * 3000 + 1000, 5 * 3000 + 2000).every((v) => v === 0)).toBe(true);
    expect(arr.data[5 * 3000 + 999]).not.toBe(0);
  });

  it("a missing input or output folder is a FileAccessError naming it, and leaves nothing behind", async () => {
    const before = readdirSync(dir).length;
    await expect(fifToNpy(join(dir, "missing_raw.fif"), join(dir, "m.npy"), quiet)).rejects.toThrow(FileAccessError);
    const noDir = join(dir, "no", "such", "out.npy");
    await expect(fifToNpy(neuromag, noDir, quiet)).rejects.toThrow(/no[/\\]such[/\\]out\.npy/);
    expect(readdirSync(dir).length).toBe(before);
  });
});
