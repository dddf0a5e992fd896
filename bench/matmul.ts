/**
 * Matrix products on the wasm backend: tfjs's stock kernel vs neurocode's
 * (src/engine/matmul.ts) vs PyTorch CPU (2 threads), in one run. Medians.
 *
 *   npx tsx bench/matmul.ts [--reps 15] [--python /work/venv/bin/python]
 */
import { execFileSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/engine/backend.js";
import { installFastKernels, removeFastKernels } from "../src/engine/kernels.js";
import { installFastMatMul, removeFastMatMul } from "../src/engine/matmul.js";
import { median } from "./common.js";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const REPS = Number(arg("reps", "15"));
const PYTHON = arg("python", process.env.NEUROCODE_PYTHON ?? "/work/venv/bin/python");

/** name, shape of a, shape of b (as stored), transposeA, transposeB */
const CASES: [string, number[], number[], boolean, boolean][] = [
  ["2048x128 · 128x512", [2048, 128], [128, 512], false, false],
  ["same, transposeB", [2048, 128], [512, 128], false, true],
  ["same, transposeA", [128, 2048], [128, 512], true, false],
  ["batched 32 × (64x128 · 128x64)", [32, 64, 128], [32, 128, 64], false, false],
  ["attention 32·4 × (64x32 · (64x32)ᵀ)", [32, 4, 64, 32], [32, 4, 64, 32], false, true],
];


/** The wasm backend runs kernels synchronously, so timing the call needs no read-back (which costs more than some products). */
function time(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): number {
  const run = (): void => tf.matMul(a, b, ta, tb).dispose();
  run();
  run();
  const ts: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    run();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const PY = `
import time, torch, json
torch.set_num_threads(2)
cases = json.loads(${JSON.stringify(JSON.stringify(CASES))})
out = []
for name, sa, sb, ta, tb in cases:
    a, b = torch.randn(*sa), torch.randn(*sb)
    f = lambda: torch.matmul(a.transpose(-1, -2) if ta else a, b.transpose(-1, -2) if tb else b)
    f(); f()
    ts = []
    for _ in range(${REPS}):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1000)
    ts.sort(); out.append(ts[len(ts) // 2])
print(json.dumps(out))
`;

const torchMs = JSON.parse(execFileSync(PYTHON, ["-c", PY], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as number[];
await initBackend();
console.log(`matMul, median of ${REPS} (ms): tfjs wasm stock | neurocode wasm | PyTorch ${"2 threads"} | neurocode/PyTorch`);
CASES.forEach(([name, sa, sb, ta, tb], i) => {
  const a = tf.randomNormal(sa);
  const b = tf.randomNormal(sb);
  removeFastMatMul();
  removeFastKernels();
  const stock = time(a, b, ta, tb);
  installFastMatMul();
  installFastKernels();
  const fast = time(a, b, ta, tb);
  const t = torchMs[i]!;
  console.log(`  ${name.padEnd(38)} ${stock.toFixed(2).padStart(8)} ${fast.toFixed(2).padStart(8)} ${t.toFixed(2).padStart(8)} ${(fast / t).toFixed(1).padStart(6)}x`);
  tf.dispose([a, b]);
});
