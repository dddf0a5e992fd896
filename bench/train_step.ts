/**
 * One training step of a small transformer (batch 32, 64 tokens, width 128,
 * 4 pre-norm encoder layers, 4 heads, FFN 512, GELU, AdamW, MSE loss) in
 * neurocode and in PyTorch (CPU, 2 threads) in one run; prints both median
 * step times (wall, and CPU time of the process, steadier on a shared
 * machine; PyTorch also with 1 thread), the ratios, and where neurocode's time goes (tf.profile, by kernel).
 *
 *   npx tsx bench/train_step.ts [--steps 8] [--python /work/venv/bin/python]
 */
import { execFileSync } from "node:child_process";
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
const STEPS = Number(arg("steps", "8"));
const PYTHON = arg("python", process.env.NEUROCODE_PYTHON ?? "/work/venv/bin/python");

class Net extends Module {
  readonly layers = this.registerModule("layers", new ModuleList(Array.from({ length: LAYERS }, () =>
    new TransformerEncoderLayer(D, HEADS, { dimFeedforward: FF, dropout: 0, activation: "gelu", batchFirst: true, normFirst: true }))));
  readonly head = this.registerModule("head", new Linear(D, D));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.head.call(this.layers.items.reduce((h, l) => l.call(h), x)));
  }
}


async function neurocode(): Promise<{ ms: number; cpuMs: number; profile: [string, number, number][] }> {
  await initBackend();
  manualSeed(0);
  const net = new Net();
  const opt = new AdamW(net.trainableParameters(), { lr: 1e-3 });
  const x = tf.randomNormal([B, T, D], 0, 1, "float32", 1);
  const y = tf.randomNormal([B, T, D], 0, 1, "float32", 2);
  const step = (): number => trainStep(net, () => tf.losses.meanSquaredError(y, net.call(x)) as tf.Scalar, opt);
  step();
  step();
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    step();
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    times.push(performance.now() - t0);
  }
  const prof = await tf.profile(() => void step());
  const byKernel = new Map<string, [number, number]>();
  for (const k of prof.kernels) {
    const ms = Number(await k.kernelTimeMs);
    // Products are listed per operand shapes: their cost depends on layout and batching.
    const key = k.name === "BatchMatMul" ? `BatchMatMul ${k.inputShapes.map((s) => `[${s}]`).join("·")}` : k.name;
    const e = byKernel.get(key) ?? [0, 0];
    byKernel.set(key, [e[0] + ms, e[1] + 1]);
  }
  const profile = [...byKernel].map(([n, [ms, c]]) => [n, ms, c] as [string, number, number]).sort((a, b) => b[1] - a[1]);
  tf.dispose([x, y]);
  opt.dispose();
  net.dispose();
  return { ms: median(times), cpuMs: median(cpu), profile };
}

const pytorchScript = (threads: number): string => `
import time, torch, torch.nn as nn
torch.set_num_threads(${threads}); torch.manual_seed(0)
B, T, D, L, H, FF, STEPS = ${B}, ${T}, ${D}, ${LAYERS}, ${HEADS}, ${FF}, ${STEPS}
layers = [nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=True) for _ in range(L)]
net = nn.Sequential(*layers, nn.Linear(D, D))
opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
x, y = torch.randn(B, T, D), torch.randn(B, T, D)
def step():
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(net(x), y)
    loss.backward(); opt.step(); return loss.item()
step(); step()
ts, cs = [], []
for _ in range(STEPS):
    t0, c0 = time.perf_counter(), time.process_time(); step()
    ts.append((time.perf_counter() - t0) * 1000); cs.append((time.process_time() - c0) * 1000)
ts.sort(); cs.sort(); print(ts[len(ts) // 2], cs[len(cs) // 2], torch.__version__)
`;

function pytorch(threads: number): { ms: number; cpuMs: number; version: string } {
  const out = execFileSync(PYTHON, ["-c", pytorchScript(threads)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split(/\s+/);
  return { ms: Number(out[0]), cpuMs: Number(out[1]), version: out[2]! };
}

const torchRun = pytorch(2);
// One thread: CPU time comparable with neurocode's single-threaded wasm, and free of the
// busy-waiting that inflates a 2-thread run's CPU time on a loaded machine.
const torch1 = pytorch(1);
const nc = await neurocode();
const total = nc.profile.reduce((s, [, ms]) => s + ms, 0);
console.log(`train step B=${B} T=${T} D=${D} layers=${LAYERS} heads=${HEADS} ff=${FF}, median of ${STEPS} steps`);
console.log(`neurocode (${tf.getBackend()}): ${nc.ms.toFixed(1)} ms/step wall, ${nc.cpuMs.toFixed(1)} ms CPU`);
console.log(`PyTorch ${torchRun.version} CPU, 2 threads: ${torchRun.ms.toFixed(1)} ms/step wall, ${torchRun.cpuMs.toFixed(1)} ms CPU (both threads)`);
console.log(`PyTorch ${torch1.version} CPU, 1 thread: ${torch1.ms.toFixed(1)} ms/step wall, ${torch1.cpuMs.toFixed(1)} ms CPU`);
console.log(`ratio neurocode/PyTorch (2 threads): ${(nc.ms / torchRun.ms).toFixed(2)}x wall, ${(nc.cpuMs / torchRun.cpuMs).toFixed(2)}x CPU`);
console.log(`ratio neurocode/PyTorch (1 thread): ${(nc.ms / torch1.ms).toFixed(2)}x wall, ${(nc.cpuMs / torch1.cpuMs).toFixed(2)}x CPU`);
console.log(`\nneurocode profile of one step (kernel time ${total.toFixed(1)} ms):`);
for (const [name, ms, count] of nc.profile.slice(0, Number(process.env.TOP ?? 16))) console.log(`  ${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms  ${(100 * ms / total).toFixed(1).padStart(5)}%  ${count} calls`);
