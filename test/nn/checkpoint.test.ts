import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { FormatError } from "../../src/errors.js";
import {
  BatchNorm1d, Conv1d, Embedding, LSTM, Linear, Module, StateDictError, convertCheckpoint, loadCheckpoint, openCheckpoint,
  parseSafetensors, readStateDict, readSafetensors, saveCheckpoint, serializeSafetensors,
} from "../../src/nn/index.js";
import type { HostTensor } from "../../src/nn/module.js";
import { unpickle } from "../../src/nn/pickle.js";
import { golden, sharedData } from "../helpers/shared.js";

/** The TinyNet of test/reference/nn_checkpoints.py, with the same parameter names. */
class TinyNet extends Module {
  readonly emb = this.registerModule("emb", new Embedding(5, 3));
  readonly conv = this.registerModule("conv", new Conv1d(2, 4, 3, { weightNorm: true }));
  readonly pconv = this.registerModule("pconv", new Conv1d(2, 3, 3, { weightNorm: true }));
  readonly lstm = this.registerModule("lstm", new LSTM(3, 4));
  readonly bn = this.registerModule("bn", new BatchNorm1d(4));
  readonly fc = this.registerModule("fc", new Linear(4, 2));
  forward(x: tf.Tensor): tf.Tensor {
    return this.fc.call(x);
  }
}

const tmp = mkdtempSync(join(tmpdir(), "neurocode-ckpt-"));
const values = (h: HostTensor | tf.Tensor): number[] => Array.from(h instanceof tf.Tensor ? h.dataSync() : h.data);

function expectSameDicts(a: Map<string, HostTensor>, b: Map<string, HostTensor>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [n, t] of a) {
    const u = b.get(n)!;
    expect(u.shape, n).toEqual(t.shape);
    expect(u.dtype, n).toBe(t.dtype);
    expect(values(u), n).toEqual(values(t));
  }
}

beforeAll(async () => {
  await initBackend();
});

describe("PyTorch .pt checkpoints", () => {
  it("reads torch.save(state_dict) with the same tensors as the safetensors file (stored and deflated zips)", () => {
    const st = readStateDict(golden("nn/tiny.safetensors"));
    expect(st.get("conv.weight_g")!.shape).toEqual([4, 1, 1]);
    expect(st.has("pconv.weight_v")).toBe(true); // parametrizations.weight.original1 mapped
    expect(st.get("bn.num_batches_tracked")).toEqual({ shape: [], dtype: "int32", data: Int32Array.from([1]) });
    expectSameDicts(readStateDict(golden("nn/tiny.pt")), st);
    expectSameDicts(readStateDict(golden("nn/tiny_deflated.pt")), st);
    expectSameDicts(readStateDict(golden("nn/wrapped.pt")), st); // {"model": sd, "epoch": ..., "lr": ...}
  });

  it("loads into a module by name, strided (non-contiguous) weights included", () => {
    const net = new TinyNet();
    const report = loadCheckpoint(net, golden("nn/tiny.pt"));
    expect(report).toEqual({ missing: [], unexpected: [], mismatched: [] });
    const want = readStateDict(golden("nn/tiny.safetensors")).get("fc.weight")!;
    expect(values(net.fc.weight)).toEqual(values(want));
    expect(net.bn.numBatchesTracked.dataSync()[0]).toBe(1);
    net.dispose();
  });

  it("decodes float16, bfloat16, float64, int64, bool and views with storage offsets and strides", () => {
    expectSameDicts(readStateDict(golden("nn/dtypes.pt")), readStateDict(golden("nn/dtypes.safetensors")));
    const ck = openCheckpoint(golden("nn/dtypes.pt"));
    expect(ck.tensors.map((t) => `${t.name}:${t.dtype}`)).toEqual([
      "half:F16", "bf16:BF16", "double:F64", "long:I64", "bool:BOOL", "view_offset:F32", "view_strided:F32",
    ]);
  });

  it("rejects a pickle that calls os.system with a FormatError", () => {
    expect(() => openCheckpoint(golden("nn/malicious.pt"))).toThrow(FormatError);
    expect(() => openCheckpoint(golden("nn/malicious.pt"))).toThrow(/posix\.system is not allowed/);
  });

  it("rejects other globals, disallowed opcodes and truncated pickles", () => {
    const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
    expect(() => unpickle(enc("\x80\x02cbuiltins\neval\n(X\x01\x00\x00\x001tR."))).toThrow(/builtins\.eval is not allowed/);
    expect(() => unpickle(enc("\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01u."))).not.toThrow();
    expect(() => unpickle(enc("\x80\x02i__main__\nX\n."))).toThrow(/opcode 0x69 is not allowed/);
    expect(() => unpickle(enc("\x80\x02}(X\x05\x00\x00\x00ab"))).toThrow(/truncated/);
    // Calling an allowed class with arguments is refused too.
    expect(() => unpickle(enc("\x80\x02ccollections\nOrderedDict\n(K\x01tR."))).toThrow(FormatError);
  });

  it("reports truncated and corrupt archives as FormatError", () => {
    const bytes = readFileSync(golden("nn/tiny.pt"));
    const cut = join(tmp, "cut.pt");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    expect(() => openCheckpoint(cut)).toThrow(FormatError);
    const corrupt = join(tmp, "corrupt.pt");
    const c = Uint8Array.from(bytes);
    c.fill(0, 200, 1200); // clobber the pickle and first storages
    writeFileSync(corrupt, c);
    expect(() => readStateDict(corrupt)).toThrow(FormatError);
  });

  it("tells legacy (pre-1.6) torch files from safetensors whose header length starts with 0x80", () => {
    const legacy = join(tmp, "legacy.pt");
    writeFileSync(legacy, Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    expect(() => openCheckpoint(legacy)).toThrow(/legacy/);
    // A header padded to 640 bytes: its length's first bytes are 0x80 0x02.
    const meta = { pad: "x".repeat(640 - 30) };
    let bytes = serializeSafetensors(new Map(), meta);
    for (let i = 0; i < 16 && bytes[0] !== 0x80; i++) bytes = serializeSafetensors(new Map(), { pad: (meta.pad += "x") });
    expect([bytes[0], bytes[1]]).toEqual([0x80, 0x02]);
    const st = join(tmp, "x80.safetensors");
    writeFileSync(st, bytes);
    expect(openCheckpoint(st).format).toBe("safetensors");
  });

  it("converts .pt to safetensors with identical tensors (CLI helper)", () => {
    const out = join(tmp, "tiny.safetensors");
    expect(convertCheckpoint(golden("nn/tiny.pt"), out, { modelName: "tiny" })).toBe(18);
    expectSameDicts(readStateDict(out), readStateDict(golden("nn/tiny.pt")));
    expect(readSafetensors(out).metadata).toMatchObject({ model: "tiny", source: "tiny.pt" });
  });
});

describe("safetensors", () => {
  it("save → load round trip is exact and keeps __metadata__", () => {
    const a = new TinyNet();
    const path = join(tmp, "a.safetensors");
    saveCheckpoint(a, path, { modelName: "tiny", config: { width: 4 } });
    const f = readSafetensors(path);
    expect(f.metadata).toMatchObject({ model: "tiny", config: '{"width":4}', neurocode_version: expect.any(String) });
    const b = new TinyNet();
    loadCheckpoint(b, path);
    for (const [n, t] of a.stateDict()) expect(values(b.stateDict().get(n)!), n).toEqual(values(t));
    a.dispose();
    b.dispose();
  });

  it("reports every missing, unexpected and mis-shaped name of a mismatched checkpoint", () => {
    const sd = readStateDict(golden("nn/tiny.pt"));
    sd.delete("lstm.bias_hh_l0");
    sd.delete("emb.weight");
    sd.set("head.weight", { shape: [1], dtype: "float32", data: new Float32Array(1) });
    sd.set("fc.bias", { shape: [3], dtype: "float32", data: new Float32Array(3) });
    const path = join(tmp, "bad.safetensors");
    writeFileSync(path, serializeSafetensors(sd));
    const net = new TinyNet();
    let err: StateDictError | undefined;
    try {
      loadCheckpoint(net, path);
    } catch (e) {
      err = e as StateDictError;
    }
    expect(err).toBeInstanceOf(StateDictError);
    expect(err!.report.missing.sort()).toEqual(["emb.weight", "lstm.bias_hh_l0"]);
    expect(err!.report.unexpected).toEqual(["head.weight"]);
    expect(err!.report.mismatched).toEqual([{ name: "fc.bias", expected: [2], actual: [3] }]);
    expect(err!.message).toMatch(/emb\.weight.*head\.weight.*fc\.bias/s);
    net.dispose();
  });

  it("validates header length, offsets and sizes with FormatError (field and byte offset)", () => {
    const good = serializeSafetensors(new Map([["w", { shape: [2], dtype: "float32", data: Float32Array.from([1, 2]) } as HostTensor]]));
    expect(() => parseSafetensors(good.subarray(0, 5))).toThrow(FormatError);
    expect(() => parseSafetensors(good.subarray(0, good.length - 1))).toThrow(/data_offsets/);
    const huge = Uint8Array.from(good);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => parseSafetensors(huge)).toThrow(/header of/);
    const header = (h: object): Uint8Array => {
      const j = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + j.length + 8);
      new DataView(out.buffer).setBigUint64(0, BigInt(j.length), true);
      out.set(j, 8);
      return out;
    };
    expect(() => parseSafetensors(header({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }))).toThrow(/needs 12/);
    expect(() => parseSafetensors(header({ w: { dtype: "Q4", shape: [2], data_offsets: [0, 8] } }))).toThrow(/unsupported dtype/);
    expect(() => parseSafetensors(header({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }))).toThrow(/overlaps/);
    try {
      parseSafetensors(header({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }), "x.safetensors");
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
      expect((e as FormatError).field).toBe("tensors.w.data_offsets");
      expect((e as FormatError).path).toBe("x.safetensors");
    }
  });

  it("reads the BrainOmni reference safetensors (official names, every tensor decodes)", () => {
    for (const dir of ["tokenizer_small", "omni_small"]) {
      const f = readSafetensors(sharedData(`parity/brainomni/${dir}/weights.safetensors`));
      expect(f.metadata.config).toBeDefined();
      for (const t of f.tensors) {
        const h = t.read();
        expect(h.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        expect(values(h).every(Number.isFinite), t.name).toBe(true);
      }
      if (dir === "tokenizer_small") {
        const names = f.tensors.map((t) => t.name);
        expect(names).toContain("encoder.seanet_encoder.model.0.conv.conv.weight_g");
        expect(names).toContain("decoder.seanet_decoder.model.1.lstm.weight_ih_l1");
      }
    }
  });
});
