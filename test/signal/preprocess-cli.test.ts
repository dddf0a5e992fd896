/** `neurocode preprocess`, run in-process: order of steps from argv, outputs equal the library calls, typed errors. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { buildProgram, main } from "../../src/cli/main.js";
import { stepOrder } from "../../src/cli/commands/preprocess.js";
import { readRecording, writeRecording } from "../../src/io/open.js";
import { channelData } from "../../src/recording/recording.js";
import { filterRecording, notchFilter, resampleRecording, setReference } from "../../src/signal/index.js";
import { goldenRows, maxAbsError, recordingOf } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "nc-preprocess-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = "";
  let out = "";
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
  try {
    return { code: await main(args), err, out };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}

describe("neurocode preprocess", () => {
  const rec = recordingOf(goldenRows("syn256"), 256, ["Fz", "Cz", "Pz", "Oz"]);
  const input = join(dir, "in.fif");
  writeRecording(input, rec);
  const src = readRecording(input);

  it("recovers the order of steps from argv", () => {
    expect(stepOrder(["preprocess", "a", "b", "--resample", "200", "--notch", "50", "60", "--bandpass=1", "40"])).toEqual(["--resample", "--notch", "--bandpass"]);
    expect(() => stepOrder(["--notch", "50", "--notch", "60"])).toThrow(/more than once/);
  });

  it("applies the steps in the order given and writes any format", async () => {
    const out = join(dir, "out.npy");
    const r = await run(["preprocess", input, join(dir, "out.fif"), "--notch", "50", "60", "--resample", "200", "--bandpass", "0.5", "75", "--reference", "average", "--threads", "1"]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/notch 50, 60 Hz -> resample 200 Hz -> band-pass 0.5-75 Hz -> reference average/);
    const got = readRecording(join(dir, "out.fif"));
    const want = setReference(filterRecording(resampleRecording(notchFilter(src, [50, 60]), 200), 0.5, 75), "average");
    expect(got.sfreq).toBe(200);
    expect(maxAbsError(got.channels.map((_, i) => channelData(got, i)), want.channels.map((_, i) => channelData(want, i)))).toBe(0);
    // Another order gives another result.
    expect((await run(["preprocess", input, out, "--bandpass", "0.5", "75", "--resample", "200", "--sfreq", "256"])).code).toBe(0);
    const other = readRecording(out, { sfreq: 200 });
    const want2 = resampleRecording(filterRecording(src, 0.5, 75), 200);
    expect(maxAbsError([channelData(other, 0)], [channelData(want2, 0)])).toBe(0);
  });

  it("reads bipolar montages from a file", async () => {
    const m = join(dir, "m.txt");
    writeFileSync(m, "# anode cathode name\nFz Cz FZ-CZ\nPz Oz\n");
    const out = join(dir, "bip.fif");
    expect((await run(["preprocess", input, out, "--reference", `bipolar:${m}`])).code).toBe(0);
    expect(readRecording(out).channels.map((c) => c.name)).toEqual(["FZ-CZ", "Pz-Oz"]);
  });

  it("explains bad input in one line and exits 1 (usage errors 2)", async () => {
    const a = await run(["preprocess", input, join(dir, "x.fif"), "--bandpass", "1", "200"]);
    expect(a.code).toBe(1);
    expect(a.err).toMatch(/ValueError: .*Nyquist/);
    const b = await run(["preprocess", input, join(dir, "x.fif")]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/at least one of/);
    const c = await run(["preprocess", input, join(dir, "x.fif"), "--bandpass", "1"]);
    expect(c.err).toMatch(/expects 2 frequencies/);
    const d = await run(["preprocess", input, join(dir, "x.fif"), "--reference", "bipolar:nope"]);
    expect(d.err).toMatch(/unknown bipolar montage/);
  });

  it("--help teaches units, defaults and MNE equivalents", () => {
    const cmd = buildProgram().commands.find((c) => c.name() === "preprocess")!;
    let text = "";
    const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => ((text += String(s)), true));
    try {
      cmd.exitOverride().parse(["--help"], { from: "user" });
    } catch {
      // commander throws its exit-override error after printing help.
    } finally {
      o.mockRestore();
    }
    for (const want of [/raw\.filter\(LO, HI\)/, /raw\.notch_filter/, /raw\.resample/, /in the order you write them/, /Hz/, /SI units/]) expect(text).toMatch(want);
  });
});
