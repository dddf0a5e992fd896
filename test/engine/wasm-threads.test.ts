import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/shared.js";

// The backend is chosen once per process, so each case runs the built package
// (npm test builds first) in a fresh Node process with its own NEUROCODE_THREADS.
const backendUrl = pathToFileURL(join(ROOT, "dist", "engine", "backend.js")).href;
const threadsUrl = pathToFileURL(join(ROOT, "dist", "engine", "wasm-threads.js")).href;

const script = `
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from ${JSON.stringify(backendUrl)};
import { kernelThreads, singleThreaded } from ${JSON.stringify(threadsUrl)};
const name = await initBackend();
// Deterministic operands large enough for XNNPACK to split across threads.
const a = tf.tensor2d(Float32Array.from({ length: 300 * 200 }, (_, i) => Math.sin(i * 0.37)), [300, 200]);
const b = tf.tensor2d(Float32Array.from({ length: 200 * 170 }, (_, i) => Math.cos(i * 0.11)), [200, 170]);
const x = tf.tensor4d(Float32Array.from({ length: 2 * 40 * 64 * 8 }, (_, i) => Math.sin(i * 0.013)), [2, 40, 64, 8]);
const k = tf.tensor4d(Float32Array.from({ length: 1 * 7 * 8 * 16 }, (_, i) => Math.cos(i * 0.7)), [1, 7, 8, 16]);
const mm = Array.from(tf.matMul(a, b, false, false).dataSync());
const mmT = Array.from(tf.matMul(b, a, true, true).dataSync());
const conv = Array.from(tf.conv2d(x, k, 1, "same").dataSync());
const before = kernelThreads();
const [inside, mmSingle] = singleThreaded(() => [kernelThreads(), Array.from(tf.matMul(a, b).dataSync())]);
const switched = [before, inside, kernelThreads()];
process.stdout.write(JSON.stringify({ name, threads: name === "wasm" ? getThreadsCount() : 0, mm, mmT, conv, mmSingle, switched }));
`;

interface Run { name: string; threads: number; mm: number[]; mmT: number[]; conv: number[]; mmSingle: number[]; switched: number[] }

function run(env: Record<string, string>): { status: number | null; signal: string | null; out: Run | null; stderr: string } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 64 << 20,
    timeout: 60_000, // a pthread left holding the event loop would hang here
  });
  return { status: r.status, signal: r.signal, out: r.status === 0 ? (JSON.parse(r.stdout) as Run) : null, stderr: r.stderr };
}

function maxAbsDiff(x: number[], y: number[]): number {
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

describe("multi-threaded wasm backend", () => {
  it("runs XNNPACK on the requested threads, exits by itself, and matches the single-threaded and cpu backends", () => {
    const two = run({ NEUROCODE_BACKEND: "wasm", NEUROCODE_THREADS: "2" });
    expect(two.signal).toBeNull();
    expect(two.status, two.stderr).toBe(0);
    expect(two.out!.name).toBe("wasm");
    expect(two.out!.threads).toBe(2);
    expect(two.stderr).toContain("tensor backend wasm, 2 threads");
    // singleThreaded takes the pool away for its block only, and XNNPACK gives the same bits either way.
    expect(two.out!.switched).toEqual([2, 1, 2]);
    expect(two.out!.mmSingle).toEqual(two.out!.mm);

    const one = run({ NEUROCODE_BACKEND: "wasm", NEUROCODE_THREADS: "1" });
    expect(one.status, one.stderr).toBe(0);
    expect(one.out!.threads).toBe(1);
    const cpu = run({ NEUROCODE_BACKEND: "cpu" });
    expect(cpu.status, cpu.stderr).toBe(0);

    // A 200-term dot product of values in [-1, 1]: float32 summation order differs between kernels.
    for (const key of ["mm", "mmT", "conv"] as const) {
      expect(maxAbsDiff(two.out![key], one.out![key])).toBeLessThan(1e-4);
      expect(maxAbsDiff(two.out![key], cpu.out![key])).toBeLessThan(1e-4);
    }
    // The products are not trivially zero: the comparison above has something to compare.
    expect(Math.max(...two.out!.mm.map(Math.abs))).toBeGreaterThan(1);
  });

  it("leaves uncaught errors to Node: a short message and a non-zero exit, not the wasm glue's source", () => {
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", `import { initBackend } from ${JSON.stringify(backendUrl)};
await initBackend();
setTimeout(() => { throw new Error("boom from a timer"); }, 1);`], { cwd: ROOT, env: { ...process.env, NEUROCODE_THREADS: "2" }, encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("boom from a timer");
    expect(r.stderr.length).toBeLessThan(5000);
  });

  it("rejects a NEUROCODE_THREADS that is not a positive integer", () => {
    const bad = run({ NEUROCODE_BACKEND: "wasm", NEUROCODE_THREADS: "two" });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("NEUROCODE_THREADS");
  });
});
