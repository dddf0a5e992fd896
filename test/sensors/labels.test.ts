import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { readRecording } from "../../src/io/open.js";
import { channelData, createRecording } from "../../src/recording/recording.js";
import type { ChannelKind } from "../../src/recording/types.js";
import { loadBipolarMontage, montagePairs } from "../../src/sensors/bipolar.js";
import { setReference } from "../../src/signal/reference.js";
import { attachStandardPositions, montagePosition, setMontage } from "../../src/sensors/attach.js";
import { electrodeName, labelKey } from "../../src/sensors/labels.js";
import { loadMontage, montageInHead } from "../../src/sensors/montage.js";
import { sharedData } from "../helpers/shared.js";

function rec(names: string[], kinds?: ChannelKind[], n = 8) {
  return createRecording({
    data: names.map((_, i) => Float32Array.from({ length: n }, (_, t) => (i + 1) * 1e-6 * (t + 1))),
    sfreq: 100,
    channels: names.map((name, i) => ({ name, kind: kinds?.[i] ?? "eeg", unit: "V", origUnit: "uV" })),
  });
}

describe("label normalisation", () => {
  it.each([
    ["Fp1", "Fp1"], ["FP1", "FP1"], ["EEG Fp1-REF", "Fp1"], ["EEG FP1-LE", "FP1"], ["Fp1-A1", "Fp1"], ["Fp1-M2", "Fp1"],
    ["EEG Fp1-Ref-0", "Fp1"], ["POL Fp1", "Fp1"], [" Cz ", "Cz"], ["Fp1-F7", "Fp1-F7"], ["EEG T3-AVG", "T3"],
  ])("%s → %s", (label, name) => {
    expect(electrodeName(label)).toBe(name);
    expect(labelKey(label)).toBe(name.toUpperCase());
  });
});

describe("setMontage / attachStandardPositions", () => {
  const head = montageInHead(loadMontage("standard_1005"));
  const pos = (l: string) => head.positions[head.labels.indexOf(l)]!;

  it("places EEG channels by normalised label in the head frame, leaves other kinds alone", () => {
    const r = setMontage(rec(["EEG FP1-REF", "EEG CZ-REF", "EEG T3-REF", "ECG EKG"], ["eeg", "eeg", "eeg", "ecg"]), loadMontage("standard_1005"));
    expect(r.channels[0]!.sensor!.position).toEqual(pos("Fp1"));
    expect(r.channels[1]!.sensor!.position).toEqual(pos("Cz"));
    expect(r.channels[2]!.sensor!.position).toEqual(pos("T3"));
    expect(r.channels[0]!.sensor!.orientation).toEqual([0, 0, 0]);
    expect(r.channels[3]!.sensor).toBeUndefined();
    // Head frame: Cz is above the origin, Fp1 in front and to the left.
    expect(r.channels[1]!.sensor!.position[2]).toBeGreaterThan(0.08);
    expect(r.channels[0]!.sensor!.position[1]).toBeGreaterThan(0.05);
    expect(r.channels[0]!.sensor!.position[0]).toBeLessThan(0);
  });

  it("falls back to MNE's aliases (T3 → T7) when the montage lacks the old name", () => {
    const bio = montageInHead(loadMontage("biosemi64"));
    expect(montagePosition(bio, "EEG T3-REF")).toEqual(bio.positions[bio.labels.indexOf("T7")]);
    expect(montagePosition(bio, "EEG T3-REF", false)).toBeUndefined();
  });

  it("raises on missing channels when asked", () => {
    expect(() => setMontage(rec(["Fp1", "Xyz"]), loadMontage("standard_1020"), { onMissing: "raise" })).toThrow(ConfigError);
  });

  it("gives an EDF's EEG channels standard positions (test_edf_stim_channel.edf: EEG Fp1 ...)", () => {
    const r = attachStandardPositions(readRecording(sharedData("external/mne-python/test_edf_stim_channel.edf"), { onWarning: () => {} }));
    const fp1 = r.channels.find((c) => labelKey(c.name) === "FP1")!;
    expect(fp1.sensor!.position).toEqual(pos("Fp1"));
    expect(r.channels.filter((c) => c.kind !== "eeg").every((c) => !c.sensor)).toBe(true);
  });
});

describe("attachStandardPositions on files that use another labelling", () => {
  it("places nothing when most EEG labels are not 10-05 names (test.edf: BioSemi-style A1…H16), and says so", () => {
    const warnings: string[] = [];
    const r = readRecording(sharedData("external/mne-python/test.edf"), { onWarning: (w) => warnings.push(w.code) });
    const eeg = r.channels.filter((c) => c.kind === "eeg");
    // A1, A2, C1…C6, I1, I2 are 10-05 names too, but not where this cap puts them.
    expect(eeg.some((c) => c.name === "A1" || c.name === "C3")).toBe(true);
    expect(eeg.every((c) => !c.sensor)).toBe(true);
    expect(warnings).toContain("sensors.not-10-05");
    expect(r.source.warnings.map((w) => w.code)).toContain("sensors.not-10-05");
  });

  it("still places a mostly 10-05 montage with a few unknown labels", () => {
    const warnings: string[] = [];
    const r = attachStandardPositions(rec(["Fp1", "Fp2", "Cz", "Xyz"]), (w) => warnings.push(w.code));
    expect(r.channels.filter((c) => c.sensor).map((c) => c.name)).toEqual(["Fp1", "Fp2", "Cz"]);
    expect(warnings).toEqual([]);
  });
});

describe("bipolar double banana", () => {
  const tcp = loadBipolarMontage("tcp-double-banana");
  const names = ["FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T3", "T4", "T5", "T6", "A1", "A2", "CZ"].map((n) => `EEG ${n}-REF`);

  it("has the 22 TUEV/TUAB derivations", () => {
    expect(tcp.derivations).toHaveLength(22);
    expect(tcp.derivations[0]).toEqual({ name: "FP1-F7", anode: "Fp1", cathode: "F7" });
    expect(tcp.derivations[21]).toEqual({ name: "P4-O2", anode: "P4", cathode: "O2" });
  });

  it("computes anode − cathode for TUH labels, marks bads, places sensors midway", () => {
    const r0 = setMontage(rec(names), loadMontage("standard_1020"));
    const r = setReference({ ...r0, bads: ["EEG T3-REF"] }, { bipolar: montagePairs(tcp) });
    expect(r.channels.map((c) => c.name)).toEqual(tcp.derivations.map((d) => d.name));
    tcp.derivations.forEach((d, k) => {
      const a = channelData(r0, names.indexOf(`EEG ${d.anode.toUpperCase()}-REF`));
      const c = channelData(r0, names.indexOf(`EEG ${d.cathode.toUpperCase()}-REF`));
      const x = channelData(r, k);
      for (let t = 0; t < x.length; t++) expect(x[t]).toBe(Math.fround(a[t]! - c[t]!));
    });
    expect(new Set(r.bads)).toEqual(new Set(["F7-T3", "T3-T5", "A1-T3", "T3-C3"]));
    const s = r.channels[0]!.sensor!.position;
    const fp1 = r0.channels[0]!.sensor!.position;
    const f7 = r0.channels[10]!.sensor!.position;
    s.forEach((v, i) => expect(v).toBeCloseTo((fp1[i]! + f7[i]!) / 2, 12));
  });

  it("names the electrodes a recording lacks", () => {
    expect(() => setReference(rec(names.slice(0, 5)), { bipolar: montagePairs(tcp) })).toThrow(/lacks: .*O1/);
  });
});
