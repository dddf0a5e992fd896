import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runMain } from "../../helpers/cli.js";
import { readFif } from "../../../src/io/fif/read.js";
import { readNpy } from "../../../src/io/npy.js";
import { channelData } from "../../../src/recording/recording.js";
import { sharedData } from "../../helpers/shared.js";

let out = "";
let err = "";
/** The CLI in-process; what it printed lands in `out` / `err`. */
async function main(args: string[]): Promise<number> {
  const r = await runMain(args);
  [out, err] = [r.stdout, r.stderr];
  return r.code;
}
const dir = mkdtempSync(join(tmpdir(), "neurocode-fif-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("neurocode info / convert with FIF", () => {
  it("info --json shows each channel's sensor and the projectors", async () => {
    expect(await main(["info", sharedData("generated/neuromag_raw.fif"), "--json"])).toBe(0);
    const j = JSON.parse(out);
    expect(j.format).toBe("fif");
    expect(j.nChannels).toBe(376);
    const grad = j.channels[0];
    expect(grad).toMatchObject({ name: "MEG 0113", kind: "meg-grad", unit: "T/m", sensor: { type: "grad", coilType: 3012 } });
    expect(grad.sensor.position).toHaveLength(3);
    expect(j.channels.find((c: { name: string }) => c.name === "MEG 0111").sensor).toMatchObject({ type: "mag", coilType: 3024 });
    expect(j.projectors.map((p: { description: string }) => p.description)).toEqual(["PCA-v1", "PCA-v2", "PCA-v3", "Average EEG reference"]);
    expect(j.bads).toEqual(["MEG 2443", "EEG 053"]);
  });

  it("info --json of an EDF gives 10-05 positions to EEG channels with standard labels", async () => {
    expect(await main(["info", sharedData("external/mne-python/test_edf_stim_channel.edf"), "--json"])).toBe(0);
    const j = JSON.parse(out);
    const fp1 = j.channels.find((c: { name: string }) => c.name === "EEG Fp1");
    expect(fp1.sensor).toMatchObject({ type: "eeg", orientation: [0, 0, 0] });
    expect(fp1.sensor.position[1]).toBeGreaterThan(0.05);
  });

  it("convert .fif.gz is refused for evoked files, .fif → .npy and .fif → .fif work", async () => {
    expect(await main(["convert", sharedData("external/mne-python/test-ave.fif.gz"), join(dir, "x.npy")])).toBe(1);
    expect(err).toMatch(/FormatError: .*test-ave\.fif\.gz.*no raw data block/);
    const npy = join(dir, "raw.npy");
    expect(await main(["convert", sharedData("external/mne-python/test_bin_raw.fif"), npy])).toBe(0);
    const arr = readNpy(npy);
    expect(arr.shape).toEqual([33, 7900]);
    const rec = readFif(sharedData("external/mne-python/test_bin_raw.fif"), { onWarning: () => {} });
    expect((arr.data as Float32Array).subarray(7900, 15800)).toEqual(channelData(rec, 1));
    const fif = join(dir, "copy_raw.fif");
    expect(await main(["convert", sharedData("generated/neuromag_raw.fif"), fif, "--channels", "MEG 0113,EEG 001"])).toBe(0);
    expect(readFif(fif).channels.map((c) => c.name)).toEqual(["MEG 0113", "EEG 001"]);
  });
});
