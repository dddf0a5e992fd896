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
import { rowLayout } from "../src/inspect/stats.js";
import { HeapRowStats } from "../src/inspect/stats-simd.js";
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
/** One recorded module call: host copies (for the JS kernel) and the backend tensors (for the heap kernel). */
interface StoredCall {
  rec: CallRecord;
  out: tf.Tensor;
  inp: tf.Tensor;
}
const stored: { name: string; calls: StoredCall[]; plainWallMin: number }[] = [];
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
  // The activations of one pass (as backend tensors and host copies), kept for the statistics-only timing below.
  const calls: StoredCall[] = [];
  const handles = matchModules(model, VARIANTS[2]!.record).map(([name, m]) =>
    m.registerForwardHook(({ inputs, output }) => {
      const [out, inp] = [output as tf.Tensor, inputs[0] as tf.Tensor];
      const data = (t: tf.Tensor) => ({ shape: t.shape, data: t.dataSync() as Float32Array });
      calls.push({ rec: { module: name, call: 0, shape: out.shape, output: data(out).data, input: data(inp) }, out: tf.keep(out.clone()), inp: tf.keep(inp.clone()) });
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
    const recs = calls.filter((r) => match(r.rec.module));
    return { record, withMedian, recs, values: recs.reduce((n, r) => n + r.rec.output.length, 0), heapMs: [] as number[], hostMs: [] as number[] };
  });
  // Variants and paths take turns, so JIT warm-up and machine load hit them alike; the first rounds only warm up.
  for (let i = 0; i < 60; i++) {
    for (const v of variants) {
      // As the recorder does on wasm: statistics on the backend's heap where the row width allows.
      const b = new ActivationTableBuilder({ median: v.withMedian });
      const heap = HeapRowStats.create(tf.backend(), b.statsOptions);
      let t0 = performance.now();
      for (const { rec, out, inp } of v.recs) {
        const { batch, positions, width } = rowLayout(out.shape, rec.module);
        // Update statistics only where input and output shapes agree (residual blocks), as in the recorder.
        const same = inp.shape.join() === out.shape.join();
        if (heap?.supports(width)) b.addComputed(rec, heap.rows(out, same ? inp : null, batch * positions, width));
        else b.add(rec);
      }
      if (i >= 10) v.heapMs.push(performance.now() - t0);
      // The JS kernel on host copies (other backends, channels-first outputs).
      const h = new ActivationTableBuilder({ median: v.withMedian });
      t0 = performance.now();
      for (const { rec } of v.recs) h.add(rec);
      if (i >= 10) v.hostMs.push(performance.now() - t0);
    }
  }
  for (const { record, withMedian, values, heapMs, hostMs } of variants) {
    const [min, hostMin] = [Math.min(...heapMs), Math.min(...hostMs)];
    console.log(
      `statistics alone, ${name}  ${record.join(",").padEnd(26)} median ${withMedian ? "on " : "off"}  ${values} values: ` +
        `${median(heapMs).toFixed(2)} ms median, ${min.toFixed(2)} ms min (${((min * 1e6) / values).toFixed(1)} ns/value) = ` +
        `${((min / plainWallMin) * 100).toFixed(0)}% of the fastest plain forward (${plainWallMin.toFixed(1)} ms); ` +
        `JS kernel on host copies ${hostMin.toFixed(2)} ms min (${((hostMin * 1e6) / values).toFixed(1)} ns/value)`,
    );
  }
  for (const { out, inp } of calls) tf.dispose([out, inp]);
}
