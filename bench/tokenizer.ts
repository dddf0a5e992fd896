/**
 * BrainTokenizer forward throughput (tokenize: sensor embedding + SEANet
 * encoder + latent-source attention + 4-level RVQ), released configuration,
 * 2-s windows of 64 channels at 256 Hz, neurocode vs PyTorch CPU (2 threads)
 * in one run. The official code is not on this machine: the PyTorch side is
 * test/reference/brainomni_torch.py, a re-implementation of the released
 * tokenizer's inference path that matches the official fixtures (x_rec 9.5e-7,
 * identical codes). Prints medians, the ratio, CPU time, and neurocode's time by kernel.
 *
 * PyTorch runs twice: as a user runs it, and with glibc told to keep freed
 * memory (`GLIBC_TUNABLES` mmap/trim thresholds). On this microVM every fresh
 * 4 KiB page costs ~15 µs to fault in, and PyTorch's allocator hands its
 * activations back to the kernel after each call, so by default it spends most
 * of a call re-faulting them; the second figure is its compute alone.
 * neurocode's tensors live in the wasm heap, which is never returned.
 *
 *   npx tsx bench/tokenizer.ts [--batches 1,8] [--runs 5] [--python /work/venv/bin/python]
 */
import { execFileSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/engine/backend.js";
import { manualSeed } from "../src/engine/random.js";
import { RELEASED_TOKENIZER } from "../src/models/brainomni/config.js";
import { BrainTokenizer } from "../src/models/brainomni/tokenizer.js";
import { median } from "./common.js";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const BATCHES = arg("batches", "1,8").split(",").map(Number);
const RUNS = Number(arg("runs", "5"));
const PYTHON = arg("python", process.env.NEUROCODE_PYTHON ?? "/work/venv/bin/python");
const C = 64;
const L = 512;

const backend = await initBackend();
manualSeed(0);
const tok = new BrainTokenizer(RELEASED_TOKENIZER);
// Random codebooks marked initialised (speed does not depend on the values; no k-means).
for (const cb of tok.quantizer.codebooks()) {
  tf.tidy(() => {
    cb.embed.assign(tf.randomNormal(cb.embed.shape));
    cb.inited.assign(tf.ones([1]));
  });
}
tok.eval();


interface Row {
  batch: number;
  ncWall: number;
  ncCpu: number;
  /** PyTorch as it runs by default. */
  ptWall: number;
  /** PyTorch with glibc keeping freed memory (no page re-faulting). */
  ptWarmWall: number;
}

/** glibc tunables that stop malloc returning freed memory to the kernel (32 MiB is glibc's largest mmap threshold). */
const KEEP_MEMORY = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295";

/** Median seconds per call of the PyTorch re-implementation at batch `B`. */
function pytorch(B: number, keepMemory: boolean): { median_s: number; torch: string } {
  const env = keepMemory ? { ...process.env, GLIBC_TUNABLES: KEEP_MEMORY } : process.env;
  const out = execFileSync(PYTHON, ["test/reference/brainomni_torch.py", "bench", String(B), String(Math.max(RUNS, 15))], { encoding: "utf8", env });
  return JSON.parse(out.trim().split("\n").pop()!) as { median_s: number; torch: string };
}
const rows: Row[] = [];
for (const B of BATCHES) {
  const x = tf.randomNormal([B, C, L]);
  const pos = tf.randomNormal([B, C, 6]);
  const sensorType = tf.randomUniform([B, C], 0, 3, "int32");
  const once = (): void => {
    const r = tok.tokenize({ x, pos, sensorType });
    r.indices.dataSync();
    tf.dispose([r.features, r.indices]);
  };
  once();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    once();
    walls.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);
  }
  const py = pytorch(B, false);
  const warm = pytorch(B, true);
  const nc = median(walls);
  rows.push({ batch: B, ncWall: nc, ncCpu: median(cpus), ptWall: py.median_s, ptWarmWall: warm.median_s });
  const rate = (s: number): string => `${s.toFixed(3)} s (${(B / s).toFixed(2)} windows/s)`;
  console.log(
    `batch ${B}: neurocode ${rate(nc)}, CPU ${median(cpus).toFixed(3)} s | PyTorch ${py.torch} 2 threads ${rate(py.median_s)}, ratio ${(nc / py.median_s).toFixed(2)}x` +
      ` | PyTorch keeping its memory ${rate(warm.median_s)}, ratio ${(nc / warm.median_s).toFixed(2)}x`,
  );
  tf.dispose([x, pos, sensorType]);
}

// Where neurocode's time goes (batch 1): kernel time by op.
{
  const x = tf.randomNormal([1, C, L]);
  const pos = tf.randomNormal([1, C, 6]);
  const sensorType = tf.randomUniform([1, C], 0, 3, "int32");
  const info = await tf.profile(() => {
    const r = tok.tokenize({ x, pos, sensorType });
    r.indices.dataSync();
    tf.dispose([r.features, r.indices]);
  });
  // The profile also lists op scopes (custom gradients, fused ops) around their kernels: count registered kernels only.
  const isKernel = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined;
  const agg = new Map<string, number>();
  const kernels = info.kernels.filter((k) => isKernel(k.name));
  for (const k of kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const total = [...agg.values()].reduce((a, b) => a + b, 0);
  console.log(`backend ${backend}; kernel time by op, batch 1 (total ${total.toFixed(0)} ms, ${kernels.length} kernels):`);
  for (const [name, ms] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${name.padEnd(16)} ${ms.toFixed(1).padStart(8)} ms  ${((100 * ms) / total).toFixed(0)}%`);
  tf.dispose([x, pos, sensorType]);
}
console.log(JSON.stringify(rows));
tok.dispose();
