import { describe, expect, it } from "vitest";
import { ConfigError, ValueError } from "../../../src/errors.js";
import { BRAINOMNI_TINY, parseOfficialConfig, RELEASED_TOKENIZER, toOfficialConfig } from "../../../src/models/brainomni/config.js";
import { applyRecipe, downstreamRecipe, PRETRAINING_RECIPE, recordingSensorVectors } from "../../../src/models/brainomni/preprocess.js";
import { readRecording } from "../../../src/io/open.js";
import { megCoilRule, normalizePositions, sensorVectorsFromFif, SENSOR_TYPE_ID } from "../../../src/models/brainomni/sensors.js";
import { BrainTokenizer } from "../../../src/models/brainomni/tokenizer.js";
import { BrainOmni } from "../../../src/models/brainomni/omni.js";
import { fixture } from "./fixtures.js";
import { readFileSync } from "node:fs";
import { golden, sharedData } from "../../helpers/shared.js";

const loc = (p: number[], ex: number[], ez: number[]) => [...p, ...ex, 0, 1, 0, ...ez];

describe("BrainOmni sensor vectors", () => {
  it("type ids and orientation axis follow the official rule on the explicit coil table", () => {
    expect(SENSOR_TYPE_ID).toEqual({ eeg: 0, mag: 1, grad: 2 });
    expect(megCoilRule(3012)).toEqual({ type: 2, axis: "ex" }); // VV_PLANAR_T1
    expect(megCoilRule(3022)).toEqual({ type: 1, axis: "ez" }); // VV_MAG_T1
    expect(megCoilRule(5001)).toEqual({ type: 2, axis: "ez" }); // CTF axial gradiometer
    expect(megCoilRule(4002)).toEqual({ type: 1, axis: "ez" }); // MAGNES_GRAD contains "MAG" upstream
    expect(megCoilRule(2)).toEqual({ type: 2, axis: "ez" }); // NM_122: no "PLANAR" in its name
    expect(megCoilRule(5001 | (3 << 16))).toEqual({ type: 2, axis: "ez" }); // CTF compensation bits ignored
    expect(megCoilRule(12345)).toEqual({ type: 2, axis: "ez" }); // unknown → GRAD/ez like a bare integer upstream
    const v = sensorVectorsFromFif([
      { kind: 2, coilType: 1, loc: loc([0.1, 0, 0], [1, 0, 0], [0, 0, 1]) },
      { kind: 1, coilType: 3012, loc: loc([0, 0.1, 0], [0.6, 0.8, 0], [0, 0, 1]) },
      { kind: 1, coilType: 3022, loc: loc([0, 0, 0.1], [1, 0, 0], [0, 0.6, 0.8]) },
    ]);
    expect(Array.from(v.type)).toEqual([0, 2, 1]);
    expect(Array.from(v.pos.subarray(3, 6))).toEqual([0, 0, 0]);
    expect(Array.from(v.pos.subarray(9, 12)).map((x) => +x.toFixed(6))).toEqual([0.6, 0.8, 0]);
    expect(Array.from(v.pos.subarray(15, 18)).map((x) => +x.toFixed(6))).toEqual([0, 0.6, 0.8]);
    expect(() => sensorVectorsFromFif([{ kind: 3 as 1, coilType: 0, loc: new Array(12).fill(0) }])).toThrow(ValueError);
  });

  it("normalize_pos centres each set and makes its mean squared radius 1/3; the downstream bug leaves GRAD raw", () => {
    const chs = [0, 1, 2, 3, 4, 5].map((i) => ({ kind: 1 as const, coilType: i % 2 ? 3012 : 3022, loc: loc([0.05 * i, 0.02 * i * i, 0.1 - 0.01 * i], [1, 0, 0], [0, 0, 1]) }));
    const eeg = [0, 1, 2, 3].map((i) => ({ kind: 2 as const, coilType: 1, loc: loc([Math.cos(i), Math.sin(i), 0.3 * i], [0, 0, 0], [0, 0, 0]) }));
    const raw = sensorVectorsFromFif([...chs, ...eeg]);
    const n = normalizePositions(raw);
    for (const set of [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9]]) {
      const mean = [0, 1, 2].map((k) => set.reduce((s, c) => s + n.pos[c * 6 + k]!, 0) / set.length);
      mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-6));
      const ms = set.reduce((s, c) => s + n.pos[c * 6] ** 2 + n.pos[c * 6 + 1]! ** 2 + n.pos[c * 6 + 2]! ** 2, 0) / set.length;
      expect(ms).toBeCloseTo(1 / 3, 5);
    }
    const bug = normalizePositions(raw, "downstream-bug");
    for (const c of [1, 3, 5]) for (let k = 0; k < 3; k++) expect(bug.pos[c * 6 + k]).toBe(raw.pos[c * 6 + k]); // GRAD untouched
    expect(() => normalizePositions(sensorVectorsFromFif([eeg[0]!]))).toThrow(ValueError);
  });
});

describe("BrainOmni sensor vectors of a real Neuromag file", () => {
  it("equal the official extract_pos_sensor_type + normalize_pos on MNE's info (device-frame MEG)", () => {
    const g = JSON.parse(readFileSync(golden("brainomni/neuromag_sensors.json"), "utf8")) as { names: string[]; type: number[]; pos: number[][] };
    const rec = applyRecipe(readRecording(sharedData("generated/neuromag_raw.fif")), PRETRAINING_RECIPE.slice(0, 1));
    expect(rec.channels.map((c) => c.name)).toEqual(g.names);
    const v = recordingSensorVectors(rec);
    expect(Array.from(v.type)).toEqual(g.type);
    let err = 0;
    g.pos.forEach((row, c) => row.forEach((x, k) => (err = Math.max(err, Math.abs(x - v.pos[c * 6 + k]!)))));
    expect(err).toBeLessThan(1e-6);
  });
});

describe("BrainOmni configs and recipes", () => {
  it("released presets have the published parameter counts and state-dict names", () => {
    const keys = JSON.parse(readFileSync(sharedData("parity/brainomni/keys.json"), "utf8")) as Record<string, { counts: { parameters: number }; state_dict: { name: string; shape: number[]; kind: string }[] }>;
    const tok = new BrainTokenizer(RELEASED_TOKENIZER);
    expect(tok.numParameters()).toBe(keys.braintokenizer_released!.counts.parameters);
    const ours = new Map([...tok.stateDict()].map(([k, v]) => [k, v.shape]));
    for (const e of keys.braintokenizer_released!.state_dict) expect(ours.get(e.name), e.name).toEqual(e.shape);
    expect(ours.size).toBe(keys.braintokenizer_released!.state_dict.length);
    tok.dispose();
    const tiny = new BrainOmni(BRAINOMNI_TINY);
    expect(tiny.numParameters()).toBe(keys.brainomni_tiny!.counts.parameters);
    const tinyNames = new Set(tiny.stateDict().keys());
    for (const e of keys.brainomni_tiny!.state_dict) expect(tinyNames.has(e.name), e.name).toBe(true);
    tiny.dispose();
  });

  it("parses the official config JSON and rejects bad values with the key path", () => {
    const w = fixture("tokenizer_small/weights.safetensors");
    const c = parseOfficialConfig(w.metadata.config!);
    expect(c).toMatchObject({ nFilters: 4, nDim: 32, nNeuro: 4, codebookSize: 64 });
    expect(JSON.parse(w.metadata.config!)).toMatchObject(toOfficialConfig(c));
    expect(() => parseOfficialConfig({ ...toOfficialConfig(c), n_head: 5 })).toThrow(ConfigError);
    expect(() => parseOfficialConfig({ ...toOfficialConfig(c), codebook_dim: 16 })).toThrow(/codebookDim/);
    expect(() => parseOfficialConfig("{not json")).toThrow(ConfigError);
    const { n_dim: _, ...missing } = toOfficialConfig(c);
    expect(() => parseOfficialConfig(missing)).toThrow(/n_dim/);
  });

  it("pretraining resamples before band-passing; downstream filters first", () => {
    expect(PRETRAINING_RECIPE.map((s) => s.op)).toEqual(["pick", "notch", "resample", "filter"]);
    expect(PRETRAINING_RECIPE[1]).toEqual({ op: "notch", freqs: [50, 60] });
    expect(downstreamRecipe(60).map((s) => s.op)).toEqual(["pick", "notch", "filter", "resample"]);
    expect(downstreamRecipe(50)[1]).toEqual({ op: "notch", freqs: [50] });
    expect(() => downstreamRecipe(55 as 50)).toThrow(ConfigError);
  });
});
