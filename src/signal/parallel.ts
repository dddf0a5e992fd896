/**
 * Splits row kernels across `worker_threads` over shared memory.
 *
 * Entry point: compiled code (`dist/`) starts `worker.js` beside this file.
 * From TypeScript sources (vitest, tsx) there is no `worker.js`, so the
 * worker is `worker.ts` loaded through tsx's loader API (`tsx/esm/api`, a dev
 * dependency); when neither works, everything runs on the calling thread.
 * The calling thread does one share of the rows itself and blocks on an
 * Atomics flag for the rest, so callers stay synchronous.
 */
import { availableParallelism } from "node:os";
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from "node:worker_threads";
import { siblingModule, startWorker } from "../workers.js";
import { NeurocodeError } from "../errors.js";
import { kernelCost, runKernel, splitsByTime, type RowKernel } from "./kernels.js";

/**
 * Work (samples × `kernelCost`, ~4 ns units) below which threads do not pay
 * for the hand-off (posting, waking a worker, rows not yet in shared memory).
 * `npx tsx bench/signal.ts` prints the crossover (FIR, 4 rows). 1e6 is about
 * 4 ms of work: a second thread pays from there when the second core is free,
 * and loses little when it is not.
 */
export const PARALLEL_MIN_WORK = 1_000_000;

interface PoolWorker {
  worker: Worker;
  errors: MessagePort;
}

let pool: PoolWorker[] | null = null;
let poolUnavailable: string | null = null;

/** Default number of threads: `NEUROCODE_THREADS`, else the machine's cores. */
export function defaultThreads(): number {
  const env = Number(process.env["NEUROCODE_THREADS"]);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, availableParallelism());
}

function getPool(size: number): PoolWorker[] | null {
  if (poolUnavailable) return null;
  if (pool && pool.length >= size) return pool;
  const existing = pool ?? [];
  const start = existing.length;
  const ready = new SharedArrayBuffer(4 * size);
  const flags = new Int32Array(ready);
  const added: PoolWorker[] = [];
  for (let i = start; i < size; i++) {
    const { port1, port2 } = new MessageChannel();
    let worker: Worker;
    try {
      worker = startWorker(siblingModule(import.meta.url, "worker"), { workerData: { ready, index: i, errors: port2 }, transferList: [port2] });
    } catch (e) {
      // Running from sources without tsx: stay single-threaded.
      for (const w of added) void w.worker.terminate();
      poolUnavailable = `no worker entry: ${(e as Error).message}`;
      return pool;
    }
    worker.on("error", (e) => {
      poolUnavailable = `worker error: ${e.message}`;
    });
    worker.unref();
    port1.unref();
    added.push({ worker, errors: port1 });
  }
  for (let i = start; i < size; i++) {
    // A worker that cannot load its entry never sets its flag: give up after 20 s and stay single-threaded.
    if (Atomics.wait(flags, i, 0, 20_000) === "timed-out" && Atomics.load(flags, i) === 0) {
      for (const w of added) void w.worker.terminate();
      poolUnavailable = `worker ${i} did not start`;
      return pool;
    }
  }
  pool = [...existing, ...added];
  return pool;
}

/** Stops the worker threads (they are unref'd, so this is only needed to free them early). */
export async function shutdownWorkers(): Promise<void> {
  const p = pool ?? [];
  pool = null;
  scratch = new Float32Array(new SharedArrayBuffer(0));
  await Promise.all(p.map((w) => w.worker.terminate()));
}

function isShared(a: Float32Array): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** Keeps each shared output's garbage-collection ballast alive exactly as long as the output array. */
const ballast = new WeakMap<Float32Array, ArrayBuffer>();

/**
 * Zeroed float32 storage for the output of a signal operation, in shared
 * memory so that every thread writes (and first touches, the costly part of
 * a fresh buffer here) its own rows. V8 does not count SharedArrayBuffers
 * toward garbage-collection pressure (nodejs/node#34703), so dead ones would
 * pile up until some unrelated major GC; an ArrayBuffer of the same size,
 * never touched (so it costs address space, not memory), is tied to the
 * array to carry that accounting. Measured: twelve 120 MB outputs in a row
 * kept the resident set at 156–271 MB with it, and growing by 120 MB per
 * output without it.
 */
export function sharedSamples(n: number): Float32Array {
  const a = new Float32Array(new SharedArrayBuffer(4 * n));
  ballast.set(a, new ArrayBuffer(4 * n));
  return a;
}

let scratch = new Float32Array(new SharedArrayBuffer(0));

/**
 * Shared memory through which rows in plain ArrayBuffers (what readers
 * return) reach the workers: one buffer, grown to the largest job and reused
 * (warm after its first use: no page faults). `shutdownWorkers` lets it go.
 */
function sharedScratch(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(new SharedArrayBuffer(4 * n));
  return scratch.subarray(0, n);
}

/**
 * Shared stand-ins for rows: rows already in shared memory as they are,
 * others in the scratch, inputs copied in (an output identical to its input
 * shares the input's place).
 */
function sharedRows(inputs: Float32Array[], outputs: Float32Array[]): [Float32Array[], Float32Array[]] {
  let need = 0;
  inputs.forEach((r, i) => {
    if (!isShared(r)) need += r.length;
    if (!isShared(outputs[i]!) && outputs[i] !== r) need += outputs[i]!.length;
  });
  const buf = sharedScratch(need);
  let at = 0;
  const take = (len: number) => buf.subarray(at, (at += len));
  const ins = inputs.map((r) => {
    if (isShared(r)) return r;
    const v = take(r.length);
    v.set(r);
    return v;
  });
  const outs = outputs.map((o, i) => (isShared(o) ? o : o === inputs[i] ? ins[i]! : take(o.length)));
  return [ins, outs];
}

export interface ParallelOptions {
  /** Threads to use including the caller's (default `defaultThreads()`); 1 forces the calling thread. */
  threads?: number;
  /** Minimum work to go parallel (default `PARALLEL_MIN_WORK`); 0 forces threads whenever there are ≥ 2 rows. */
  minWork?: number;
}

/**
 * Runs `kernel` over rows, splitting the work across threads when it is
 * large enough: by rows, or by time ranges for kernels that mix rows
 * (`splitsByTime`, when every row is in shared memory). Results equal
 * `runKernel` exactly (same code per row or per sample). Rows the workers
 * need that are not in SharedArrayBuffers go through a reused shared
 * scratch, copied in and out.
 */
export function runKernelParallel(kernel: RowKernel, inputs: Float32Array[], outputs: Float32Array[], opts: ParallelOptions = {}): void {
  const byTime = splitsByTime(kernel);
  const n = inputs[0]?.length ?? 0;
  // Even-sized row shares keep FIR/resample's two-rows-per-FFT packing intact; time shares are at least 4096 samples.
  const units = byTime ? Math.floor(n / 4096) : Math.ceil(inputs.length / 2);
  const threads = Math.min(opts.threads ?? defaultThreads(), units);
  const work = inputs.reduce((s, r) => s + r.length, 0) * kernelCost(kernel);
  // Every thread of a time split reads every row; copying them all through the scratch and back
  // would cost about what the second thread saves, so that split needs the rows already shared.
  const shareable = !byTime || [...inputs, ...outputs].every(isShared);
  const workers = threads > 1 && shareable && work >= (opts.minWork ?? PARALLEL_MIN_WORK) ? getPool(threads - 1) : null;
  if (!workers) {
    runKernel(kernel, inputs, outputs);
    return;
  }
  if (byTime) {
    const per = Math.ceil(n / threads);
    dispatch(kernel, workers, threads, (t) => {
      const lo = Math.min(n, t * per);
      const hi = Math.min(n, lo + per);
      return [inputs.map((r) => r.subarray(lo, hi)), outputs.map((r) => r.subarray(lo, hi))];
    });
    return;
  }
  const per = Math.ceil(inputs.length / threads / 2) * 2;
  // The calling thread's share is used where it lies; only the workers' rows must be in shared memory.
  const [inW, outW] = sharedRows(inputs.slice(per), outputs.slice(per));
  const inS = [...inputs.slice(0, per), ...inW];
  const outS = [...outputs.slice(0, per), ...outW];
  dispatch(kernel, workers, threads, (t) => [inS.slice(t * per, (t + 1) * per), outS.slice(t * per, (t + 1) * per)]);
  copyBack(outputs, outS, per);
}

/** Copies rows computed in the scratch (from row `from` on) to where the caller wants them. */
function copyBack(outputs: Float32Array[], shared: Float32Array[], from: number): void {
  for (let i = from; i < outputs.length; i++) if (outputs[i] !== shared[i]) outputs[i]!.set(shared[i]!);
}

/** Posts shares 1 … threads − 1 to workers, runs share 0 here, and waits for the workers (rethrowing their errors). */
function dispatch(kernel: RowKernel, workers: PoolWorker[], threads: number, share: (t: number) => [Float32Array[], Float32Array[]]): void {
  const ref = (a: Float32Array) => ({ buffer: a.buffer, byteOffset: a.byteOffset, length: a.length });
  const jobs: { ctrl: Int32Array; w: PoolWorker }[] = [];
  for (let t = 1; t < threads; t++) {
    const [ins, outs] = share(t);
    if (ins.length === 0 || ins[0]!.length === 0) break;
    const ctrl = new Int32Array(new SharedArrayBuffer(4));
    const w = workers[t - 1]!;
    w.worker.postMessage({ kernel, inputs: ins.map(ref), outputs: outs.map(ref), ctrl: ctrl.buffer });
    jobs.push({ ctrl, w });
  }
  const [ins, outs] = share(0);
  runKernel(kernel, ins, outs);
  const failures: string[] = [];
  for (const { ctrl, w } of jobs) {
    Atomics.wait(ctrl, 0, 0);
    if (Atomics.load(ctrl, 0) === 2) failures.push(String(receiveMessageOnPort(w.errors)?.message ?? "unknown worker error"));
  }
  if (failures.length) throw new NeurocodeError(`signal worker failed: ${failures.join("; ")}`);
}

/** Why the worker pool is not in use (`null` when it is available). */
export function workersUnavailableReason(): string | null {
  return poolUnavailable;
}
