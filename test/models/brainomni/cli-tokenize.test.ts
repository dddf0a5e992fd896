import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { tableFromIPC } from "apache-arrow";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import { initBackend } from "../../../src/engine/backend.js";
import { readNpy } from "../../../src/io/npy.js";
import { readRecording } from "../../../src/io/open.js";
import { loadTokenizer } from "../../../src/models/brainomni/checkpoint.js";
import { tokenizeRecording } from "../../../src/models/brainomni/api.js";
import { golden, sharedData } from "../../helpers/shared.js";
import { countDifferent, fixture, tensorOf, valuesOf } from "./fixtures.js";

const ckpt = () => sharedData("parity/brainomni/tokenizer_small/weights.safetensors");
let dir: string;

beforeAll(async () => {
  await initBackend();
  dir = mkdtempSync(join(tmpdir(), "nc-tokenize-"));
});

describe("neurocode tokenize", () => {
  it("tokenizes a Neuromag FIF (MEG + EEG) into an Arrow table that apache-arrow reads, with --report", async () => {
    const out = join(dir, "codes.arrow");
    const fif = sharedData("generated/neuromag_raw.fif");
    expect(await main(["tokenize", fif, "--out", out, "--checkpoint", ckpt(), "--report"])).toBe(0);
    const table = tableFromIPC(readFileSync(out));
    expect(table.schema.fields.map((f) => f.name)).toEqual(["file", "window", "start_time", "frame", "source", "code_0", "code_1", "code_2", "code_3", "recon_l1", "recon_pcc"]);
    // 5 s → two 2-s windows × 8 frames × 4 sources (small config).
    expect(table.numRows).toBe(2 * 8 * 4);
    const starts = [...new Set(table.getChild("start_time")!.toArray())];
    expect(starts).toEqual([0, 2]);
    const codes = table.getChild("code_0")!.toArray() as Int32Array;
    expect(codes.every((c) => c >= 0 && c < 64)).toBe(true);
    const l1 = table.getChild("recon_l1")!.toArray() as Float32Array;
    expect(l1.every((v) => Number.isFinite(v) && v > 0)).toBe(true);

    // The same codes through the library API on the same file.
    const tok = loadTokenizer(ckpt());
    const rec = readRecording(fif);
    const api = tokenizeRecording(tok, { ...rec, channels: rec.channels }, { recipe: "pretraining" });
    expect(api.segments).toHaveLength(2);
    const fromTable = new Int32Array(4 * 8 * 4);
    const frame = table.getChild("frame")!.toArray();
    const source = table.getChild("source")!.toArray();
    const cols = [0, 1, 2, 3].map((q) => table.getChild(`code_${q}`)!.toArray() as Int32Array);
    for (let r = 0; r < 32; r++) for (let q = 0; q < 4; q++) fromTable[(source[r]! * 8 + frame[r]!) * 4 + q] = cols[q]![r]!;
    expect(Array.from(fromTable)).toEqual(Array.from(api.segments[0]!.codes));
    tok.dispose();

    // Decode the codes for the file's sensors.
    const npy = join(dir, "recon.npy");
    expect(await main(["tokenize", "--decode", out, "--sensors", fif, "--out", npy, "--checkpoint", ckpt()])).toBe(0);
    const arr = readNpy(npy);
    expect(arr.shape).toEqual([2, 364, 512]);
  });

  it("loads the release-style PyTorch .pt (with model_cfg.json beside it) through the engine's reader: same codes as the fixture", () => {
    const tok = loadTokenizer(golden("brainomni/pt/BrainTokenizer.pt"));
    const f = fixture("tokenizer_small/io.safetensors");
    const batch = { x: tensorOf(f, "input.x"), pos: tensorOf(f, "input.pos"), sensorType: tensorOf(f, "input.sensor_type") };
    const t = tok.tokenize(batch, 0.25);
    expect(countDifferent(t.indices, valuesOf(f, "tok25.indices"))).toBe(0);
    tf.dispose([batch.x, batch.pos, batch.sensorType, t.features, t.indices]);
    tok.dispose();
  });

  it("tokenizes a BDF with 10-05 labels (positions from the standard montage, unplaced channels left out), shorter than a window", async () => {
    const out = join(dir, "bdf.arrow");
    expect(await main(["tokenize", sharedData("external/mne-python/test.bdf"), "--window", "1", "--out", out, "--checkpoint", ckpt()])).toBe(0);
    const table = tableFromIPC(readFileSync(out));
    // 1 s of 66 placed EEG channels → one zero-padded tokenizer window: 8 frames × 4 sources.
    expect(table.numRows).toBe(32);
    expect([...new Set(table.getChild("file")!.toArray() as string[])]).toHaveLength(1);
  });

  it("reports bad usage as one-line errors", async () => {
    expect(await main(["tokenize", "--out", join(dir, "x.arrow"), "--checkpoint", ckpt()])).toBe(1);
    expect(await main(["tokenize", sharedData("generated/neuromag_raw.fif"), "--out", join(dir, "y.arrow"), "--checkpoint", ckpt(), "--batch", "0"])).toBe(1);
  });
});
