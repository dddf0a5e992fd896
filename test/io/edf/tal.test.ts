import { describe, expect, it } from "vitest";
import { addDecimal, decimalOf, decimalToNumber, decimalToString, parseDecimal, subDecimal } from "../../../src/io/edf/decimal.js";
import { formatPlusDate, parseLegacyDate, parseLegacyTime, parsePlusDate } from "../../../src/io/edf/header.js";
import { inferKind, uniqueLabels, unitToSi } from "../../../src/io/edf/channels.js";
import { encodeTal, parseTals } from "../../../src/io/edf/tal.js";
import type { NeurocodeWarning } from "../../../src/warnings.js";

const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "utf8"));

describe("TAL parsing", () => {
  it("time stamp, durations absent vs 0, several texts per TAL, UTF-8, padding", () => {
    const w: NeurocodeWarning[] = [];
    const tals = parseTals(bytes("+0.5\x14\x14\x00+1.25\x150\x14blink\x14\x00+2\x153.5\x14a\x14b\x14\x00+3\x14中文测试八个字\x14\x00\x00\x00\x00"), (x) => w.push(x), "f");
    expect(tals.map((t) => [decimalToString(t.onset, true), t.duration, t.texts])).toEqual([
      ["+0.5", null, [""]],
      ["+1.25", 0, ["blink"]],
      ["+2", 3.5, ["a", "b"]],
      ["+3", null, ["中文测试八个字"]],
    ]);
    expect(w).toEqual([]);
  });

  it("malformed TALs are skipped with a warning; non-UTF-8 text is read as latin-1 with a warning", () => {
    const w: NeurocodeWarning[] = [];
    const raw = Uint8Array.from([...bytes("1.0\x14x\x14\x00+abc\x14y\x14\x00+1\x14"), 0xe9, ...bytes("t\xe9\x14\x00").subarray(0, 0), 0x14, 0x00, ...bytes("+4\x14ok\x14\x00")]);
    const tals = parseTals(raw, (x) => w.push(x), "f");
    expect(tals.map((t) => [decimalToNumber(t.onset), t.texts])).toEqual([
      [1, ["é"]],
      [4, ["ok"]],
    ]);
    expect(w.map((x) => x.code)).toEqual(["edf.tal-invalid", "edf.tal-invalid", "edf.tal-not-utf8"]);
  });

  it("bare time stamps (the fast path) read as the general grammar says, whatever their form", () => {
    // Valid: sign, digits, optional fraction (empty too), up to and past the fast path's 15 digits.
    for (const onset of ["+0", "-0", "+007", "+5.", "+3599", "-12.000", "+0.0000001", "+123456789012345", "+1234567890123456", "+9007199254740993.5"]) {
      const w: NeurocodeWarning[] = [];
      const tals = parseTals(bytes(`${onset}\x14\x14\x00`), (x) => w.push(x), "f");
      expect(tals).toEqual([{ onset: parseDecimal(onset), duration: null, texts: [""] }]);
      expect(w).toEqual([]);
    }
    // Invalid onsets are skipped with a warning, and a stamp followed by more is not a bare stamp.
    for (const onset of ["+.5", "+", "5", "+1.2.3", "+1e3", "++1"]) {
      const w: NeurocodeWarning[] = [];
      expect(parseTals(bytes(`${onset}\x14\x14\x00`), (x) => w.push(x), "f")).toEqual([]);
      expect(w.map((x) => x.code)).toEqual(["edf.tal-invalid"]);
    }
    expect(parseTals(bytes("+1\x14\x14x\x14\x00"), () => {}, "f")).toEqual([{ onset: parseDecimal("+1"), duration: null, texts: ["", "x"] }]);
    expect(parseTals(bytes("+1\x14\x00"), () => {}, "f")).toEqual([{ onset: parseDecimal("+1"), duration: null, texts: [] }]);
  });

  it("encodeTal is what parseTals reads", () => {
    const t = encodeTal("-0.0000001", "12.5", ["x@@Cz", "ü"]);
    expect(Buffer.from(t).toString("utf8")).toBe("-0.0000001\x1512.5\x14x@@Cz\x14ü\x14\x00");
    const [back] = parseTals(t, () => {}, "f");
    expect([decimalToString(back!.onset), back!.duration, back!.texts]).toEqual(["-0.0000001", 12.5, ["x@@Cz", "ü"]]);
  });
});

describe("exact decimal onsets", () => {
  it("TAL onset minus the sub-second start is the decimal difference, not the float one", () => {
    expect(0.3 - 0.1).not.toBe(0.2);
    expect(decimalToNumber(subDecimal(parseDecimal("+0.3")!, parseDecimal("+0.1")!))).toBe(0.2);
    expect(decimalToNumber(subDecimal(parseDecimal("+2.3457031")!, parseDecimal("+0.3945312")!))).toBe(1.9511719);
  });

  it("any float plus a fraction, written and subtracted again, is the same float", () => {
    for (const x of [0, 1e-7, 5e-324, 1.1, 123456.789, 1e21, -3.25, 0.1 + 0.2]) {
      const frac = decimalOf(0.3945312);
      const written = decimalToString(addDecimal(frac, decimalOf(x)), true);
      expect(decimalToNumber(subDecimal(parseDecimal(written)!, frac))).toBe(x);
    }
  });
});

describe("header fields", () => {
  it("the 1985 rule, EDF+ dates, times", () => {
    expect(parseLegacyDate("24.04.89")).toEqual({ year: 1989, month: 4, day: 24 });
    expect(parseLegacyDate("01.01.84")).toEqual({ year: 2084, month: 1, day: 1 });
    expect(parseLegacyDate("31.02.20")).toBeNull();
    expect(parseLegacyDate("yy.mm.dd")).toBeNull();
    expect(parsePlusDate("04-apr-2011")).toEqual({ year: 2011, month: 4, day: 4 });
    expect(parsePlusDate("30-DEC-1899")).toEqual({ year: 1899, month: 12, day: 30 });
    expect(parsePlusDate("X")).toBeNull();
    expect(formatPlusDate(2090, 1, 5)).toBe("05-JAN-2090");
    expect(parseLegacyTime("16.13.00")).toEqual({ hour: 16, minute: 13, second: 0 });
    expect(parseLegacyTime("24.00.00")).toBeNull();
  });

  it("units to SI as MNE does, kinds from label prefixes, MNE's unique names", () => {
    expect(["uV", "µV", "μV", "mV", "V", "nV", "DegC", ""].map((u) => unitToSi(u))).toEqual([
      { scale: 1e-6, unit: "V" },
      { scale: 1e-6, unit: "V" },
      { scale: 1e-6, unit: "V" },
      { scale: 1e-3, unit: "V" },
      { scale: 1, unit: "V" },
      { scale: 1, unit: "nV" },
      { scale: 1, unit: "DegC" },
      { scale: 1, unit: "" },
    ]);
    expect(["EEG Fpz-Cz", "EOG horizontal", "ECG", "EKG II", "Resp oro-nasal", "Temp rectal", "SaO2 finger", "Status", "tRigGer", "Fp1", "Event marker"].map(inferKind)).toEqual([
      "eeg", "eog", "ecg", "ecg", "resp", "temperature", "bio", "stim", "stim", "eeg", "eeg",
    ]);
    const w: NeurocodeWarning[] = [];
    expect(uniqueLabels(["EEG F1-Ref", "EEG F2-Ref", "EEG F1-Ref"], (x) => w.push(x), "f")).toEqual(["EEG F1-Ref-0", "EEG F2-Ref", "EEG F1-Ref-1"]);
    expect(uniqueLabels(["A", "A", "A-0"], () => {}, "f")).toEqual(["A-1", "A-2", "A-0"]);
    expect(w.map((x) => x.code)).toEqual(["edf.duplicate-labels"]);
  });
});
