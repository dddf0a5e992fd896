/**
 * Recording overhead of the inspection core: forward passes of a small
 * transformer with and without an ActivationRecorder taking summary statistics
 * of every residual block and feed-forward pre-activation.
 *
 *   npx tsx bench/inspect.ts
 *
 * Passes alternate (plain, recorded) so machine load hits both alike; medians
 * and minimums over REPEATS rounds are reported, of wall time and of process
 * CPU time (the wasm backend runs on one thread, so CPU time is the work done;
 * the minimum is the least disturbed pass on a shared machine). Target:
 * overhead ≤ 20%.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/engine/backend.js";
import { manualSeed, rng } from "../src/engine/random.js";
import { ActivationRecorder } from "../src/inspect/recorder.js";
import { TourTransformer } from "../src/inspect/tour-model.js";

const REPEATS = 31;
const CASES = [
  { name: "B=8 T=64 d=64 L=4 ff=256", B: 8, T: 64, cfg: { inDim: 16, dModel: 64, nHead: 4, layers: 4, dimFeedforward: 256, classes: 4 } },
  { name: "B=4 T=128 d=128 L=6 ff=512", B: 4, T: 128, cfg: { inDim: 16, dModel: 128, nHead: 8, layers: 6, dimFeedforward: 512, classes: 4 } },
];

const mid = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Wall and CPU milliseconds of one forward pass (output read back to the host). */
function forwardMs(model: TourTransformer, x: tf.Tensor): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const y = model.call(x);
  y.dataSync();
  y.dispose();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

const backend = await initBackend();
manualSeed(0);
console.log(`backend ${backend}; medians of ${REPEATS} alternating rounds`);
for (const c of CASES) {
  const model = new TourTransformer(c.cfg).eval();
  const x = tf.tensor(rng().normalArray(c.B * c.T * c.cfg.inDim), [c.B, c.T, c.cfg.inDim]);
  const variants = [
    { record: ["blocks.*"], median: false },
    { record: ["blocks.*"], median: true },
    { record: ["blocks.*", "blocks.*.linear1"], median: false },
  ];
  for (const { record, median } of variants) {
    const plain: { wall: number; cpu: number }[] = [];
    const recorded: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < 3; i++) forwardMs(model, x); // warm-up
    for (let i = 0; i < REPEATS; i++) {
      plain.push(forwardMs(model, x));
      const rec = new ActivationRecorder(model, { record, median });
      recorded.push(forwardMs(model, x));
      rec.detach();
    }
    for (const k of ["cpu", "wall"] as const) {
      for (const [stat, f] of [["median", mid], ["min", (xs: number[]) => Math.min(...xs)]] as const) {
        const p = f(plain.map((t) => t[k]));
        const r = f(recorded.map((t) => t[k]));
        console.log(
          `${c.name}  record ${record.join(",").padEnd(24)} median ${median ? "on " : "off"}  ${k.padEnd(4)} ${stat.padEnd(6)} plain ${p.toFixed(2)} ms  recorded ${r.toFixed(2)} ms  ratio ${(r / p).toFixed(3)}`,
        );
      }
    }
  }
  x.dispose();
  model.dispose();
}
