/**
 * MoE feed-forward (8 experts, top-2, capacity factor 1.25) against the dense
 * FFN with the same active parameters (hidden = 2 × expert hidden): one
 * training step = forward, backward and an AdamW update, on [32, 64, 128]
 * tokens. Prints both medians (wall and CPU) and the ratio. `--padded` also
 * times the same MoE layer on padded [E, C, d] expert slots (`packSlots =
 * false`), interleaved with the others, as an in-process A/B.
 *
 *   npx tsx bench/moe.ts [--runs 9] [--hidden 256] [--padded] [--profile [--shapes]]
 */
import * as tf from "@tensorflow/tfjs";
import { AdamW, buildFeedForward, collectMoEAux, initBackend, manualSeed, MoEFeedForward, trainStep, type FeedForwardBlock } from "../src/index.js";
import { median } from "./common.js";

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg("runs", 9);
const H = arg("hidden", 256);
const [B, L, D, E, K] = [32, 64, 128, 8, 2];

const backend = await initBackend();
manualSeed(0);
const blocks: Record<string, FeedForwardBlock> = {
  dense: buildFeedForward(D, { type: "dense", hidden: K * H }),
  moe: buildFeedForward(D, { type: "moe", experts: E, topK: K, hidden: H, capacityFactor: 1.25 }),
};
const x = tf.randomNormal([B, L, D]);
const target = tf.randomNormal([B, L, D]);

function step(m: FeedForwardBlock, opt: AdamW): void {
  trainStep(m, () => {
    const { result, loss } = collectMoEAux(m, () => m.call(x));
    return tf.add(tf.losses.meanSquaredError(target, result), loss) as tf.Scalar;
  }, opt);
}

const opts = Object.fromEntries(Object.entries(blocks).map(([k, m]) => [k, new AdamW(m.trainableParameters(), { lr: 1e-3 })]));
const variants = process.argv.includes("--padded") ? ["dense", "moe", "padded"] : ["dense", "moe"];
const moe = blocks.moe as MoEFeedForward;
// "padded": the same layer (and optimiser) on padded expert slots.
const run = (name: string): void => {
  moe.packSlots = name !== "padded";
  if (name === "dense") step(blocks.dense!, opts.dense!);
  else step(moe, opts.moe!);
};
const times: Record<string, { wall: number[]; cpu: number[] }> = Object.fromEntries(variants.map((v) => [v, { wall: [], cpu: [] }]));
for (const name of variants) run(name); // warm-up (kernel compilation, slot allocation)
for (let r = 0; r < RUNS; r++) {
  // Rotate the order so that no variant always follows the same one.
  for (const name of variants.map((_, i) => variants[(i + r) % variants.length]!)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run(name);
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    times[name]!.wall.push(wall);
    times[name]!.cpu.push((c.user + c.system) / 1000);
  }
}
const active = { dense: blocks.dense!.numParameters(), moe: blocks.moe!.numParameters() };
const row = (name: string): string => `${name.padEnd(6)} wall ${median(times[name]!.wall).toFixed(1)} ms   cpu ${median(times[name]!.cpu).toFixed(1)} ms`;
console.log(`backend ${backend}; tokens ${B}×${L}, d ${D}; dense hidden ${K * H}; MoE ${E} experts × hidden ${H}, top-${K}, cf 1.25; ${RUNS} runs, medians`);
console.log(`parameters: dense ${active.dense}, MoE total ${active.moe} (active per token: ${K}/${E} of the experts + router)`);
for (const v of variants) console.log(row(v));
for (const v of variants.slice(1)) {
  console.log(`ratio ${v}/dense: wall ${(median(times[v]!.wall) / median(times.dense!.wall)).toFixed(2)}×, cpu ${(median(times[v]!.cpu) / median(times.dense!.cpu)).toFixed(2)}×`);
}
moe.packSlots = true;

if (process.argv.includes("--profile")) {
  // Where the MoE step's time goes, by kernel (tf.profile of one step).
  const prof = await tf.profile(() => void step(blocks.moe!, opts.moe!));
  const byKernel = new Map<string, [number, number]>();
  for (const k of prof.kernels) {
    const key = process.argv.includes("--shapes") ? `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join("·")}` : k.name;
    const [ms, n] = byKernel.get(key) ?? [0, 0];
    byKernel.set(key, [ms + (k.kernelTimeMs as number), n + 1]);
  }
  const rows = [...byKernel].sort((a, b) => b[1][0] - a[1][0]);
  const total = rows.reduce((s, [, [ms]]) => s + ms, 0);
  console.log(`MoE step profile (kernel time ${total.toFixed(1)} ms):`);
  for (const [name, [ms, n]] of rows.slice(0, 25)) console.log(`  ${name.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms ${String(n).padStart(5)} calls`);
}
