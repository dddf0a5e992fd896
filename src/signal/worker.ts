/**
 * Worker entry for parallel.ts: runs row kernels on SharedArrayBuffer views
 * and signals completion through an Atomics flag (the main thread blocks on
 * it, so the public API stays synchronous).
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { runKernel, type RowKernel } from "./kernels.js";

interface RowRef {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
}

interface Job {
  kernel: RowKernel;
  inputs: RowRef[];
  outputs: RowRef[];
  ctrl: SharedArrayBuffer;
}

const view = (r: RowRef) => new Float32Array(r.buffer, r.byteOffset, r.length);
const { ready, index, errors } = workerData as { ready: SharedArrayBuffer; index: number; errors: MessagePort };

parentPort!.on("message", (job: Job) => {
  const ctrl = new Int32Array(job.ctrl);
  let status = 1;
  try {
    runKernel(job.kernel, job.inputs.map(view), job.outputs.map(view));
  } catch (e) {
    status = 2;
    errors.postMessage(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  } finally {
    Atomics.store(ctrl, 0, status);
    Atomics.notify(ctrl, 0);
  }
});

const flags = new Int32Array(ready);
Atomics.store(flags, index, 1);
Atomics.notify(flags, index);
