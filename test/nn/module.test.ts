import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/engine/backend.js";
import { Embedding, LayerNorm, Linear, Module, ModuleList, StateDictError, type ForwardHookContext } from "../../src/nn/index.js";

class Block extends Module {
  readonly norm = this.registerModule("norm", new LayerNorm(4));
  readonly layers = this.registerModule("layers", new ModuleList([new Linear(4, 8), new Linear(8, 4, { bias: false })]));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.layers.items.reduce((h, l) => l.call(h), this.norm.call(x)));
  }
}

class Net extends Module {
  readonly emb = this.registerModule("emb", new Embedding(10, 4));
  readonly block = this.registerModule("block", new Block());
  forward(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.block.call(this.emb.call(ids)));
  }
}

beforeAll(async () => {
  await initBackend();
});

describe("Module", () => {
  it("names parameters with dotted PyTorch names in registration order", () => {
    const net = new Net();
    expect(net.namedParameters().map(([n, p]) => `${n}:${p.shape}`)).toEqual([
      "emb.weight:10,4",
      "block.norm.weight:4",
      "block.norm.bias:4",
      "block.layers.0.weight:8,4",
      "block.layers.0.bias:8",
      "block.layers.1.weight:4,8",
    ]);
    expect(net.namedModules().map(([n]) => n)).toEqual(["", "emb", "block", "block.norm", "block.layers", "block.layers.0", "block.layers.1"]);
    net.dispose();
  });

  it("runs forward hooks with the module's dotted name, inputs and output, and removes them", () => {
    const net = new Net();
    const seen: string[] = [];
    const handles = net.namedModules().filter(([n]) => n.startsWith("block.layers.")).map(([, m]) =>
      m.registerForwardHook((ctx: ForwardHookContext) => {
        seen.push(`${ctx.name}:${(ctx.inputs[0] as tf.Tensor).shape}->${(ctx.output as tf.Tensor).shape}`);
      }),
    );
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
    tf.dispose(net.call(ids));
    expect(seen).toEqual(["block.layers.0:1,3,4->1,3,8", "block.layers.1:1,3,8->1,3,4"]);
    handles.forEach((h) => h.remove());
    tf.dispose(net.call(ids));
    expect(seen.length).toBe(2);
    // A hook that returns a value replaces the output.
    const h = net.block.registerForwardHook(({ output }) => tf.zerosLike(output as tf.Tensor));
    const out = net.call(ids);
    expect(Array.from(out.dataSync()).every((v) => v === 0)).toBe(true);
    h.remove();
    tf.dispose([out, ids]);
    net.dispose();
  });

  it("round-trips a state dict exactly and reports every missing, unexpected and mis-shaped name", () => {
    const a = new Net();
    const b = new Net();
    const sd = a.stateDict();
    b.loadStateDict(sd);
    for (const [n, t] of b.stateDict()) expect(Array.from(t.dataSync())).toEqual(Array.from(sd.get(n)!.dataSync()));
    const bad = new Map(sd);
    bad.delete("block.norm.bias");
    bad.delete("emb.weight");
    const extra = tf.zeros([3]);
    const wrong = tf.zeros([8, 5]);
    bad.set("block.extra", extra);
    bad.set("block.layers.0.weight", wrong);
    let err: unknown;
    try {
      b.loadStateDict(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateDictError);
    const r = (err as StateDictError).report;
    expect(r.missing.sort()).toEqual(["block.norm.bias", "emb.weight"]);
    expect(r.unexpected).toEqual(["block.extra"]);
    expect(r.mismatched).toEqual([{ name: "block.layers.0.weight", expected: [8, 4], actual: [8, 5] }]);
    const report = b.loadStateDict(bad, { strict: false });
    expect(report.missing.length).toBe(2);
    tf.dispose([extra, wrong]);
    a.dispose();
    b.dispose();
  });

  it("freezes parameters and toggles train/eval recursively", () => {
    const net = new Net();
    net.block.requiresGrad(false);
    expect(net.trainableParameters().length).toBe(1);
    net.eval();
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.train();
    expect(net.block.norm.training).toBe(true);
    net.dispose();
  });

  it("leaves the number of live tensors unchanged after forward", () => {
    const net = new Net();
    const ids = tf.tensor2d([[1, 2]], [1, 2], "int32");
    const before = tf.memory().numTensors;
    tf.dispose(net.call(ids));
    expect(tf.memory().numTensors).toBe(before);
    ids.dispose();
    net.dispose();
  });
});
