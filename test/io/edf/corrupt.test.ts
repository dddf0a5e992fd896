import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, FormatError } from "../../../src/errors.js";
import { openEdf, readEdf } from "../../../src/io/edf/reader.js";
import { writeEdf } from "../../../src/io/edf/writer.js";
import { channelData } from "../../../src/recording/recording.js";
import { toIso } from "../../../src/recording/time.js";
import { sharedData } from "../../helpers/shared.js";
import { WRITTEN_FIXTURES } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "nc-edf-fuzz-"));
const noop = (): void => {};

/** Small well-formed files of every kind: EDF+C with sub-second start, BDF+ with Status, EDF+D, plain EDF with mixed rates, annotation-only. */
const BASES: Buffer[] = (() => {
  const out = WRITTEN_FIXTURES.map((f) => {
    const p = join(dir, f.file);
    writeEdf(p, f.make(), { onWarning: noop });
    return readFileSync(p);
  });
  for (const rel of ["edfio/SC4001EC-Hypnogram.edf", "mne-python/test_uneven_samp.edf", "mne-python/test_edf_stim_channel.edf"]) out.push(readFileSync(sharedData(`external/${rel}`)));
  return out;
})();

/** Byte offsets of every numeric header field of a file with `ns` signals, with their widths. */
function numericFields(ns: number): [number, number][] {
  const fields: [number, number][] = [[168, 8], [176, 8], [184, 8], [236, 8], [244, 8], [252, 4]];
  const starts = { physicalMin: 16 + 80 + 8, physicalMax: 16 + 80 + 16, digitalMin: 16 + 80 + 24, digitalMax: 16 + 80 + 32, samplesPerRecord: 16 + 80 + 40 + 80 };
  for (const per of Object.values(starts)) for (let i = 0; i < ns; i++) fields.push([256 + ns * per + 8 * i, 8]);
  return fields;
}

const GARBAGE = ["", "-1", "0", "-0", "1e308", "1e-320", "NaN", "Infinity", "99999999", "-9999999", "abc", "1,5", "\0\0\0\0", " 1 2 ", "+", ".", "1e9", "2.5", "-32769", "0x10"];

type Mutation =
  | { kind: "flip"; positions: number[]; bits: number[]; header: boolean }
  | { kind: "truncate"; fraction: number }
  | { kind: "field"; field: number; text: string }
  | { kind: "bytes"; at: number; bytes: number[] };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), positions: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), bits: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 8, maxLength: 8 }), header: fc.boolean() }),
  fc.record({ kind: fc.constant("truncate" as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant("field" as const), field: fc.nat(), text: fc.oneof(fc.constantFrom(...GARBAGE), fc.string({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant("bytes" as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }) }),
);

function mutate(base: Buffer, m: Mutation): Buffer {
  const b = Buffer.from(base);
  if (b.length < 256) return b;
  const ns = Math.max(1, Math.min(4096, Number(b.toString("latin1", 252, 256).trim()) || 1));
  const headerBytes = 256 * (ns + 1);
  switch (m.kind) {
    case "flip":
      m.positions.forEach((p, k) => {
        const at = m.header ? p % headerBytes : p % b.length;
        b[at]! ^= 1 << m.bits[k]!;
      });
      return b;
    case "truncate":
      return b.subarray(0, Math.floor(b.length * m.fraction));
    case "field": {
      const fields = numericFields(ns);
      const [at, width] = fields[m.field % fields.length]!;
      if (at + width > b.length) return b;
      b.write(m.text.padEnd(width, " ").slice(0, width), at, "latin1");
      return b;
    }
    case "bytes": {
      const at = m.at % b.length;
      b.set(m.bytes.slice(0, b.length - at), at);
      return b;
    }
  }
}

/** Reads the file every way a user can; returns what came out, or rethrows anything that is not a FormatError. */
function readAllWays(p: string): "ok" | "format-error" {
  let f;
  try {
    f = openEdf(p, { onWarning: noop });
  } catch (e) {
    if (e instanceof FormatError) return "format-error";
    throw e;
  }
  try {
    for (const i of f.dataSignals) {
      const s = f.signal(i);
      for (let k = 0; k < s.length; k++) if (!Number.isFinite(s[k]!)) throw new Error(`signal ${i} sample ${k} is ${s[k]}`);
      expect(f.sfreq(i)).toBeGreaterThan(0);
      expect(Number.isFinite(f.sfreq(i))).toBe(true);
    }
    const tl = f.timeline();
    for (const a of tl.annotations) {
      expect(Number.isFinite(a.onset)).toBe(true);
      if (a.duration !== null) expect(a.duration >= 0 && Number.isFinite(a.duration)).toBe(true);
    }
    const start = f.startTime();
    if (start) expect(toIso(start)).toMatch(/^\d{4}-\d\d-\d\dT/);
    const rate = f.dataSignals.length ? f.sfreq(f.dataSignals[0]!) : undefined;
    f.close();
    const rec = readEdf(p, { onWarning: noop, rate });
    for (let c = 0; c < rec.channels.length; c++) {
      const row = channelData(rec, c);
      for (let k = 0; k < row.length; k++) if (!Number.isFinite(row[k]!)) throw new Error(`channel ${c} sample ${k} is ${row[k]}`);
    }
    return "ok";
  } catch (e) {
    if (e instanceof FormatError) return "format-error";
    // A corrupted rate field can leave no signal at the rate chosen above from signal 0: the ConfigError says so.
    if (e instanceof ConfigError && e.keyPath === "rate") return "ok";
    throw e;
  } finally {
    f.close();
  }
}

describe("corrupted and truncated files (fast-check)", () => {
  it("thousands of mutations give a correct read or a FormatError: no other exception, no hang, no NaN", () => {
    const p = join(dir, "mutant.edf");
    const seen = { ok: 0, "format-error": 0 };
    fc.assert(
      fc.property(fc.nat(BASES.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (bi, ms) => {
        let b = BASES[bi]!;
        for (const m of ms) b = mutate(b, m);
        writeFileSync(p, b);
        seen[readAllWays(p)]++;
      }),
      { numRuns: 2000, seed: 424242 },
    );
    // Both outcomes occur: the mutations are neither all harmless nor all fatal. (A hang would hit the test timeout.)
    expect(seen.ok).toBeGreaterThan(200);
    expect(seen["format-error"]).toBeGreaterThan(200);
  });

  it("every prefix of a small file is a correct (shorter) read or a FormatError", () => {
    const base = BASES[2]!; // EDF+D
    const p = join(dir, "prefix.edf");
    for (let n = 0; n <= base.length; n += 7) {
      writeFileSync(p, base.subarray(0, n));
      readAllWays(p);
    }
  });
});
