/**
 * Recording overhead of the inspection core: forward passes of a small
 * transformer with and without an ActivationRecorder taking summary statistics
 * of every residual block (and, in the last variant, every feed-forward
 * pre-activation `linear1`, 4× wider).
 *
 *   npx tsx bench/inspect.ts [--repeats 31]
 *
 * Passes alternate (plain, recorded) so machine load hits both alike; medians
 * and minimums over the rounds are reported, of wall time and of process CPU
 * time (all threads: the wasm backend's pool included). The last lines time the
 * statistics alone on one pass's stored activations, per variant, against the
 * fastest plain forward seen (the overhead a quiet machine would show). Target:
 * overhead ≤ 20%.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/engine/backend.js";
import { manualSeed, rng } from "../src/engine/random.js";
import { ActivationTableBuilder, type CallRecord } from "../src/inspect/records.js";
import { nameMatcher } from "../src/inspect/patterns.js";
import { ActivationRecorder, matchModules } from "../src/inspect/recorder.js";
import { TourTransformer } from "../src/inspect/tour-model.js";
import { arg, median } from "./common.js";

const REPEATS = arg("--repeats", 31);
const CASES = [
  { name: "d=64 L=4 ff=256 B=8 T=64", B: 8, T: 64, cfg: { inDim: 16, dModel: 64, nHead: 4, layers: 4, dimFeedforward: 256, classes: 4 } },
  { name: "d=128 L=6 ff=512 B=4 T=128", B: 4, T: 128, cfg: { inDim: 16, dModel: 128, nHead: 8, layers: 6, dimFeedforward: 512, classes: 4 } },
];
const VARIANTS = [
  { record: ["blocks.*"], median: false },
  { record: ["blocks.*"], median: true },
  { record: ["blocks.*", "blocks.*.linear1"], median: false },
];

interface Times {
  wall: number;
  cpu: number;
}

/** Wall and CPU milliseconds of one forward pass (output read back to the host). */
function forwardMs(model: TourTransformer, x: tf.Tensor): Times {
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
console.log(`backend ${backend}; ${REPEATS} alternating rounds; overhead = recorded / plain − 1 (median of rounds, min of rounds)`);
const stored: { name: string; calls: CallRecord[]; plainWallMin: number }[] = [];
for (const c of CASES) {
  const model = new TourTransformer(c.cfg).eval();
  const x = tf.tensor(rng().normalArray(c.B * c.T * c.cfg.inDim), [c.B, c.T, c.cfg.inDim]);
  let plainWallMin = Infinity;
  for (const { record, median: withMedian } of VARIANTS) {
    const plain: Times[] = [];
    const recorded: Times[] = [];
    for (let i = 0; i < 3; i++) forwardMs(model, x); // warm-up
    for (let i = 0; i < REPEATS; i++) {
      plain.push(forwardMs(model, x));
      const rec = new ActivationRecorder(model, { record, median: withMedian });
      recorded.push(forwardMs(model, x));
      rec.detach();
    }
    plainWallMin = Math.min(plainWallMin, ...plain.map((t) => t.wall));
    const cols = (["cpu", "wall"] as const).map((k) => {
      const [p, r] = [plain, recorded].map((ts) => ts.map((t) => t[k]));
      const [pm, rm, pn, rn] = [median(p!), median(r!), Math.min(...p!), Math.min(...r!)];
      return `${k} ${pm.toFixed(1)}/${pn.toFixed(1)} → ${rm.toFixed(1)}/${rn.toFixed(1)} ms: ${((rm / pm - 1) * 100).toFixed(0)}% / ${((rn / pn - 1) * 100).toFixed(0)}%`;
    });
    console.log(`${c.name}  ${record.join(",").padEnd(26)} median ${withMedian ? "on " : "off"}  ${cols.join("   ")}`);
  }
  // The activations of one pass, kept for the statistics-only timing below.
  const calls: CallRecord[] = [];
  const handles = matchModules(model, VARIANTS[2]!.record).map(([name, m]) =>
    m.registerForwardHook(({ inputs, output }) => {
      const [out, inp] = [output as tf.Tensor, inputs[0] as tf.Tensor];
      const data = (t: tf.Tensor) => ({ shape: t.shape, data: t.dataSync() as Float32Array });
      calls.push({ module: name, call: 0, shape: out.shape, output: data(out).data, input: data(inp) });
    }),
  );
  forwardMs(model, x);
  for (const h of handles) h.remove();
  stored.push({ name: c.name, calls, plainWallMin });
  x.dispose();
  model.dispose();
}

// The statistics alone, per variant, on one pass's stored activations: the
// recording cost without the machine's load on the forward pass. Divided by the
// fastest plain forward seen, it estimates the overhead on a quiet machine.
for (const { name, calls, plainWallMin } of stored) {
  const variants = VARIANTS.map(({ record, median: withMedian }) => {
    const match = nameMatcher(record);
    const recs = calls.filter((r) => match(r.module));
    return { record, withMedian, recs, values: recs.reduce((n, r) => n + r.output.length, 0), ms: [] as number[] };
  });
  // Variants take turns, so JIT warm-up and machine load hit them alike; the first rounds only warm up.
  for (let i = 0; i < 60; i++) {
    for (const v of variants) {
      const b = new ActivationTableBuilder({ median: v.withMedian });
      const t0 = performance.now();
      for (const r of v.recs) b.add(r);
      if (i >= 10) v.ms.push(performance.now() - t0);
    }
  }
  for (const { record, withMedian, values, ms } of variants) {
    const min = Math.min(...ms);
    console.log(
      `statistics alone, ${name}  ${record.join(",").padEnd(26)} median ${withMedian ? "on " : "off"}  ${values} values: ` +
        `${median(ms).toFixed(2)} ms median, ${min.toFixed(2)} ms min (${((min * 1e6) / values).toFixed(1)} ns/value) = ` +
        `${((min / plainWallMin) * 100).toFixed(0)}% of the fastest plain forward (${plainWallMin.toFixed(1)} ms)`,
    );
  }
}
