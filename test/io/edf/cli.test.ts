import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runMain } from "../../helpers/cli.js";
import { readEdf } from "../../../src/io/edf/reader.js";
import { readNpy } from "../../../src/io/npy.js";
import { channelData } from "../../../src/recording/recording.js";
import { ROOT, sharedData } from "../../helpers/shared.js";

/** The CLI in-process, with what it printed. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runMain(args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const FILES: [string, string[]][] = [
  [join(ROOT, "examples/data/sample.edf"), []],
  [sharedData("external/mne-python/test.edf"), []],
  [sharedData("external/mne-python/test.bdf"), []],
  [sharedData("external/mne-python/test_uneven_samp.edf"), ["--rate", "100"]],
  [sharedData("external/mne-python/test_edf_stim_channel.edf"), []],
  [sharedData("external/edfio/short_psg.edf"), ["--rate", "100"]],
  [sharedData("external/edfio/SC4001EC-Hypnogram.edf"), []],
  [sharedData("external/edfio/test_subsecond.edf"), []],
  [sharedData("external/pyedflib/test_generator.edf"), []],
];

interface Summary {
  format: string;
  sfreq: number;
  nSamples: number;
  startTime: string | null;
  firstSample: number;
  channels: { name: string; kind: string; unit: string; sfreq: number }[];
  annotations: { onset: number; duration: number | null; description: string }[];
  segments: { startSample: number; nSamples: number; onset: number }[];
}

describe("neurocode info / convert on EDF and BDF", () => {
  it.each(FILES)("info --json %s has the issue's fields and agrees with readEdf", async (file, extra) => {
    const r = await run(["info", file, "--json", ...extra]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as Summary;
    const rec = readEdf(file, { rate: extra.length ? Number(extra[1]) : undefined, onWarning: () => {} });
    expect(s.format).toBe(file.endsWith(".bdf") ? "bdf" : "edf");
    expect(s.sfreq).toBe(rec.sfreq);
    expect(s.nSamples).toBe(rec.data.shape[1]);
    expect(s.firstSample).toBe(0);
    expect(s.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(s.channels.map((c) => [c.name, c.kind, c.unit, c.sfreq])).toEqual(rec.channels.map((c) => [c.name, c.kind, c.unit, rec.sfreq]));
    expect(s.annotations).toEqual(rec.annotations.map((a) => ({ onset: a.onset, duration: a.duration, description: a.description, ...(a.channels ? { channels: a.channels } : {}) })));
    expect(s.segments).toEqual(rec.segments);
    const text = await run(["info", file, ...extra]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`annotations  ${rec.annotations.length}`);
  });

  it("info on the sample and on the hypnogram: what a new user sees", async () => {
    const sample = JSON.parse((await run(["info", join(ROOT, "examples/data/sample.edf"), "--json"])).out) as Summary;
    expect(sample.channels.map((c) => c.name)).toEqual(["Fp1", "Fp2", "C3", "C4", "O1", "O2", "Cz", "Pz", "EOG"]);
    expect(sample.channels.map((c) => c.kind)).toEqual([...Array(8).fill("eeg"), "eog"]);
    expect([sample.sfreq, sample.nSamples, sample.startTime]).toEqual([256, 15360, "2024-05-17T09:30:00.25Z"]);
    expect(sample.annotations.filter((a) => a.description.startsWith("eyes")).map((a) => [a.onset, a.duration, a.description])).toEqual([
      [0, 10, "eyes open"],
      [10, 20, "eyes closed"],
      [30, 10, "eyes open"],
      [40, 15, "eyes closed"],
      [55, 5, "eyes open"],
    ]);
    const hyp = JSON.parse((await run(["info", sharedData("external/edfio/SC4001EC-Hypnogram.edf"), "--json"])).out) as Summary;
    expect(hyp.annotations.length).toBe(154);
    expect(hyp.channels).toEqual([]);
    const subsecond = JSON.parse((await run(["info", sharedData("external/edfio/test_subsecond.edf"), "--json"])).out) as Summary;
    expect(subsecond.startTime).toBe("2020-01-24T04:05:56.3945312Z");
  });

  it("info on a file with several rates without --rate fails in one line that lists the rates", async () => {
    const r = await run(["info", sharedData("external/edfio/short_psg.edf")]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/ConfigError: rate: .*100 Hz \(3 signals\), 1 Hz \(4 signals\)/);
    const slow = JSON.parse((await run(["info", sharedData("external/edfio/short_psg.edf"), "--rate", "1", "--json"])).out) as Summary;
    expect(slow.channels.map((c) => c.name)).toEqual(["Resp oro-nasal", "EMG submental", "Temp rectal", "Event marker"]);
  });

  it("info on a file that is not EDF fails with a FormatError naming the field and offset", async () => {
    const bad = join(mkdtempSync(join(tmpdir(), "nc-cli-")), "x.edf");
    await import("node:fs").then((fs) => fs.writeFileSync(bad, "0       not really an edf file".padEnd(300, "?")));
    const r = await run(["info", bad]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/FormatError: .*x\.edf: header\.\w+ at byte \d+/);
  });

  it("convert EDF → NPY writes float32 [nChannels, nSamples] in volts; --channels picks", async () => {
    const d = mkdtempSync(join(tmpdir(), "nc-cli-"));
    const src = join(ROOT, "examples/data/sample.edf");
    const out = join(d, "sample.npy");
    expect((await run(["convert", src, out, "--channels", "O1,Cz"])).code).toBe(0);
    const npy = readNpy(out);
    const rec = readEdf(src, { onWarning: () => {} });
    expect(npy.dtype).toBe("float32");
    expect(npy.shape).toEqual([2, 15360]);
    expect(Array.from((npy.data as Float32Array).subarray(0, 15360))).toEqual(Array.from(channelData(rec, 4)));
    expect(Array.from((npy.data as Float32Array).subarray(15360))).toEqual(Array.from(channelData(rec, 6)));
  });

  it("convert BDF → EDF → BDF keeps names, annotations and values within a 16-bit step", async () => {
    const d = mkdtempSync(join(tmpdir(), "nc-cli-"));
    const edf = join(d, "t.edf");
    const bdf = join(d, "t.bdf");
    expect((await run(["convert", sharedData("external/edfio/test_subsecond.edf"), bdf])).code).toBe(0);
    expect((await run(["convert", bdf, edf])).code).toBe(0);
    const a = readEdf(sharedData("external/edfio/test_subsecond.edf"), { onWarning: () => {} });
    const b = readEdf(edf, { onWarning: () => {} });
    expect(b.channels).toEqual(a.channels);
    expect(b.annotations).toEqual(a.annotations);
    expect(b.startTime).toEqual(a.startTime);
    const ra = channelData(a, 0);
    const rb = channelData(b, 0);
    const range = 2 * 8711e-6;
    let worst = 0;
    for (let k = 0; k < ra.length; k++) worst = Math.max(worst, Math.abs(ra[k]! - rb[k]!));
    expect(worst).toBeLessThanOrEqual((2 * range) / 65535);
  });
});
