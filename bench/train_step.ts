/**
 * One training step of a small transformer (batch 32, 64 tokens, width 128,
 * 4 pre-norm encoder layers, 4 heads, FFN 512, GELU, AdamW, MSE loss) in
 * neurocode and in PyTorch (CPU, 2 threads; and 1 thread) in one run.
 *
 * The machine is shared, so the three are measured in alternating rounds:
 * PyTorch runs in child processes that wait for "steps N" on stdin, and each
 * round times a block of steps of each, in rotating order. Reported: median
 * step times (wall, and the process CPU time), the median and range over
 * rounds of the per-round ratio neurocode/PyTorch (each ratio from steps
 * taken seconds apart, under the same load), and where neurocode's time goes
 * (tf.profile, by kernel; TOP=25 prints more rows).
 *
 *   npx tsx bench/train_step.ts [--rounds 8] [--steps 3] [--python /work/venv/bin/python]
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/engine/backend.js";
import { manualSeed } from "../src/engine/random.js";
import { AdamW, Linear, Module, ModuleList, TransformerEncoderLayer, trainStep } from "../src/nn/index.js";
import { median } from "./common.js";

const B = 32, T = 64, D = 128, LAYERS = 4, HEADS = 4, FF = 512;
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const ROUNDS = Number(arg("rounds", "8"));
const STEPS = Number(arg("steps", "3"));
const PYTHON = arg("python", process.env.NEUROCODE_PYTHON ?? "/work/venv/bin/python");

class Net extends Module {
  readonly layers = this.registerModule("layers", new ModuleList(Array.from({ length: LAYERS }, () =>
    new TransformerEncoderLayer(D, HEADS, { dimFeedforward: FF, dropout: 0, activation: "gelu", batchFirst: true, normFirst: true }))));
  readonly head = this.registerModule("head", new Linear(D, D));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.head.call(this.layers.items.reduce((h, l) => l.call(h), x)));
  }
}


/** Wall and CPU milliseconds of each step. */
interface Steps {
  wall: number[];
  cpu: number[];
}

/** A participant: runs `n` timed steps when asked. */
interface Runner {
  name: string;
  run(n: number): Promise<Steps>;
}

async function neurocodeRunner(): Promise<Runner & { profile(): Promise<[string, number, number][]>; close(): void }> {
  await initBackend();
  manualSeed(0);
  const net = new Net();
  const opt = new AdamW(net.trainableParameters(), { lr: 1e-3 });
  const x = tf.randomNormal([B, T, D], 0, 1, "float32", 1);
  const y = tf.randomNormal([B, T, D], 0, 1, "float32", 2);
  const step = (): number => trainStep(net, () => tf.losses.meanSquaredError(y, net.call(x)) as tf.Scalar, opt);
  step();
  step();
  return {
    name: `neurocode (${tf.getBackend()})`,
    async run(n) {
      const out: Steps = { wall: [], cpu: [] };
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        step();
        const c = process.cpuUsage(c0);
        out.cpu.push((c.user + c.system) / 1000);
        out.wall.push(performance.now() - t0);
      }
      return out;
    },
    async profile() {
      const prof = await tf.profile(() => void step());
      const byKernel = new Map<string, [number, number]>();
      for (const k of prof.kernels) {
        const ms = Number(await k.kernelTimeMs);
        // Products are listed per operand shapes: their cost depends on layout and batching.
        const key = k.name === "BatchMatMul" ? `BatchMatMul ${k.inputShapes.map((sh) => `[${sh}]`).join("·")}` : k.name;
        const e = byKernel.get(key) ?? [0, 0];
        byKernel.set(key, [e[0] + ms, e[1] + 1]);
      }
      return [...byKernel].map(([name, [ms, c]]) => [name, ms, c] as [string, number, number]).sort((p, q) => q[1] - p[1]);
    },
    close() {
      tf.dispose([x, y]);
      opt.dispose();
      net.dispose();
    },
  };
}

const pytorchScript = (threads: number): string => `
import json, sys, time, torch, torch.nn as nn
torch.set_num_threads(${threads}); torch.manual_seed(0)
B, T, D, L, H, FF = ${B}, ${T}, ${D}, ${LAYERS}, ${HEADS}, ${FF}
layers = [nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=True) for _ in range(L)]
net = nn.Sequential(*layers, nn.Linear(D, D))
opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
x, y = torch.randn(B, T, D), torch.randn(B, T, D)
def step():
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(net(x), y)
    loss.backward(); opt.step(); return loss.item()
step(); step()
print(json.dumps({"version": torch.__version__}), flush=True)
for line in sys.stdin:
    ts, cs = [], []
    for _ in range(int(line.split()[1])):
        t0, c0 = time.perf_counter(), time.process_time(); step()
        ts.append((time.perf_counter() - t0) * 1000); cs.append((time.process_time() - c0) * 1000)
    print(json.dumps({"wall": ts, "cpu": cs}), flush=True)
`;

/** PyTorch in a child process that times steps on request. */
async function pytorchRunner(threads: number): Promise<Runner & { version: string; close(): void }> {
  const child = spawn(PYTHON, ["-c", pytorchScript(threads)], { stdio: ["pipe", "pipe", "ignore"] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await lines.next();
    if (r.done) throw new Error(`PyTorch (${PYTHON}) exited early`);
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  const { version } = (await next()) as { version: string };
  return {
    name: `PyTorch ${version} CPU, ${threads} thread${threads > 1 ? "s" : ""}`,
    version,
    async run(n) {
      child.stdin!.write(`steps ${n}\n`);
      return (await next()) as unknown as Steps;
    },
    close() {
      child.stdin!.end();
    },
  };
}

const nc = await neurocodeRunner();
const torch2 = await pytorchRunner(2);
const torch1 = await pytorchRunner(1);
const runners = [nc, torch2, torch1];
const all = new Map<Runner, Steps>(runners.map((r) => [r, { wall: [], cpu: [] }]));
const roundRatios: { wall2: number; cpu2: number; wall1: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const got = new Map<Runner, Steps>();
  // Rotate the order so that no participant always runs right after another.
  for (let k = 0; k < runners.length; k++) {
    const r = runners[(round + k) % runners.length]!;
    // A pause first: thread pools spin for a while after their last task, and would run into the next block.
    await new Promise((done) => setTimeout(done, 100));
    const st = await r.run(STEPS);
    got.set(r, st);
    all.get(r)!.wall.push(...st.wall);
    all.get(r)!.cpu.push(...st.cpu);
  }
  const m = (r: Runner, key: keyof Steps): number => median(got.get(r)![key]);
  roundRatios.push({ wall2: m(nc, "wall") / m(torch2, "wall"), cpu2: m(nc, "cpu") / m(torch2, "cpu"), wall1: m(nc, "wall") / m(torch1, "wall") });
}
const profile = await nc.profile();
for (const r of [nc, torch2, torch1]) r.close();

const fmt = (xs: number[]): string => `${median(xs).toFixed(2)}x (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
const total = profile.reduce((acc, [, ms]) => acc + ms, 0);
console.log(`train step B=${B} T=${T} D=${D} layers=${LAYERS} heads=${HEADS} ff=${FF}: ${ROUNDS} alternating rounds of ${STEPS} steps each`);
for (const r of runners) {
  const st = all.get(r)!;
  console.log(`${r.name}: ${median(st.wall).toFixed(1)} ms/step wall, ${median(st.cpu).toFixed(1)} ms CPU (medians)`);
}
console.log(`ratio neurocode/PyTorch 2 threads, median (range) over rounds: ${fmt(roundRatios.map((q) => q.wall2))} wall, ${fmt(roundRatios.map((q) => q.cpu2))} CPU`);
console.log(`ratio neurocode/PyTorch 1 thread, wall: ${fmt(roundRatios.map((q) => q.wall1))}`);
console.log(`\nneurocode profile of one step (kernel time ${total.toFixed(1)} ms):`);
for (const [name, ms, count] of profile.slice(0, Number(process.env.TOP ?? 16))) console.log(`  ${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms  ${(100 * ms / total).toFixed(1).padStart(5)}%  ${count} calls`);
