import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FormatError } from "../../../src/errors.js";
import { readFif } from "../../../src/io/fif/read.js";
import { writeFif } from "../../../src/io/fif/writer.js";
import { channelData, cropSamples } from "../../../src/recording/recording.js";
import { sharedData } from "../../helpers/shared.js";
import { entries, skipBuffer } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "neurocode-fif-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = { onWarning: () => {} };

/** test_bin_raw cropped to 3 s and written by neurocode (no directory; three 1000-sample float buffers). */
const base = cropSamples(readFif(sharedData("external/mne-python/test_bin_raw.fif"), quiet), 0, 3000);
const small = join(dir, "small_raw.fif");
writeFif(small, base);
const smallBytes = new Uint8Array(readFileSync(small));
const mneC = new Uint8Array(readFileSync(sharedData("external/mne-python/test_bin_raw.fif")));

function readBytes(bytes: Uint8Array, name: string) {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return readFif(p, quiet);
}

describe("FIFF_DATA_SKIP (MNE's rules)", () => {
  it("a skip inside the data reads as zeros with a BAD_ACQ_SKIP annotation over it", () => {
    const rec = readBytes(skipBuffer(smallBytes, 1), "skip_raw.fif");
    expect(rec.data.shape).toEqual(base.data.shape);
    expect(rec.annotations.filter((a) => a.description === "BAD_ACQ_SKIP")).toEqual([{ onset: 1, duration: 1, description: "BAD_ACQ_SKIP" }]);
    for (const c of [0, 5, 32]) {
      const x = channelData(rec, c), y = channelData(base, c);
      expect(x.subarray(1000, 2000).every((v) => v === 0)).toBe(true);
      for (const t of [0, 999, 2000, 2999]) expect(x[t]).toBeCloseTo(y[t]!, 12);
    }
  });

  it("a leading skip moves first_samp instead (the first kept sample is the second buffer's)", () => {
    const rec = readBytes(skipBuffer(smallBytes, 0), "lead_raw.fif");
    expect(rec.firstSample).toBe(1000);
    expect(rec.data.shape[1]).toBe(2000);
    expect(channelData(rec, 3)[0]).toBeCloseTo(channelData(base, 3)[1000]!, 12);
  });
});

/** Either a Recording or a FormatError naming the file; anything else fails the property. */
function readsOrFormatError(bytes: Uint8Array, name: string): void {
  try {
    readBytes(bytes, name);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    expect(e.path).toContain(name);
    expect(e.message).toContain(name);
  }
}

describe("corrupt files give a FormatError with path and offset, never a crash or a hang", () => {
  it("truncated anywhere (MNE-C file with a directory, and a scanned file)", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (f, useMneC) => {
        const src = useMneC ? mneC : smallBytes;
        const cut = src.subarray(0, Math.floor(f * (src.length - 1)));
        let err: unknown;
        const warnings: string[] = [];
        const p = join(dir, "cut_raw.fif");
        writeFileSync(p, cut);
        try {
          const rec = readFif(p, { onWarning: (w) => warnings.push(w.code) });
          // Only losing the MNE-C file's trailing tag directory is recoverable: the tags before it are whole.
          expect(warnings).toContain("fif.bad-directory");
          expect(rec.data.shape).toEqual([33, 7900]);
        } catch (e) {
          err = e;
          expect(err).toBeInstanceOf(FormatError);
          expect((err as FormatError).path).toBe(p);
        }
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it("random tag-header fields (kind, type, size, next), directory entries and payload bytes", () => {
    const tags = entries(smallBytes);
    // The MNE-C file's directory: 16-byte entries (kind, type, size, pos) read instead of scanning.
    const dirPos = new DataView(mneC.buffer, mneC.byteOffset).getInt32(20 + 16 + 16);
    fc.assert(
      fc.property(fc.nat({ max: 40 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (entry, field, value) => {
        const out = mneC.slice();
        new DataView(out.buffer).setInt32(dirPos + 16 + 16 * entry + 4 * field, value);
        readsOrFormatError(out, "dir_raw.fif");
      }),
      { numRuns: 40, seed: 5 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: tags.length - 1 }),
        fc.integer({ min: 0, max: 3 }),
        fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(-1, 0, 1, 16, 96, 2 ** 30)),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 8 }),
        (t, field, value, flips) => {
          const out = smallBytes.slice();
          const dv = new DataView(out.buffer);
          dv.setInt32(tags[t]!.pos + 4 * field, value);
          for (const [at, byte] of flips) out[at % out.length] = byte;
          readsOrFormatError(out, "mut_raw.fif");
        },
      ),
      { numRuns: 150, seed: 11 },
    );
  });

  it("a `next` pointer looping back to an earlier tag", () => {
    const tags = entries(smallBytes);
    const out = smallBytes.slice();
    new DataView(out.buffer).setInt32(tags[10]!.pos + 12, tags[3]!.pos);
    expect(() => readBytes(out, "loop_raw.fif")).toThrow(/loops back/);
    try {
      readBytes(out, "loop_raw.fif");
    } catch (e) {
      expect((e as FormatError).offset).toBe(tags[3]!.pos);
    }
  });

  it("sizes past the end and negative sizes", () => {
    const tags = entries(smallBytes);
    const big = smallBytes.slice();
    new DataView(big.buffer).setInt32(tags[5]!.pos + 8, 1e9);
    expect(() => readBytes(big, "big_raw.fif")).toThrow(/runs past the end/);
    const neg = smallBytes.slice();
    new DataView(neg.buffer).setInt32(tags[5]!.pos + 8, -20);
    expect(() => readBytes(neg, "neg_raw.fif")).toThrow(/negative size/);
  });

  it("a broken directory in an MNE-C file falls back to scanning, with a warning", () => {
    const out = mneC.slice();
    const dirPos = new DataView(out.buffer).getInt32(20 + 16 + 16);
    new DataView(out.buffer).setInt32(dirPos, 12345);
    const warnings: string[] = [];
    const p = join(dir, "nodir_raw.fif");
    writeFileSync(p, out);
    const rec = readFif(p, { onWarning: (w) => warnings.push(w.code) });
    expect(warnings).toContain("fif.bad-directory");
    expect(rec.data.shape).toEqual([33, 7900]);
  });

  it("not FIF at all, and corrupt gzip", () => {
    expect(() => readBytes(new TextEncoder().encode("0".repeat(64)), "text_raw.fif")).toThrow(/not a FIF file/);
    const gz = gzipSync(smallBytes);
    const p = join(dir, "bad_raw.fif.gz");
    writeFileSync(p, gz.subarray(0, gz.length >> 1));
    expect(() => readFif(p)).toThrow(FormatError);
    writeFileSync(p, gz);
    expect(readFif(p).data.shape).toEqual(base.data.shape);
    // Compressed content is recognised by its magic bytes, not only by the name.
    const misnamed = join(dir, "gz_inside_raw.fif");
    writeFileSync(misnamed, gz);
    expect(readFif(misnamed).data.shape).toEqual(base.data.shape);
  });
});
