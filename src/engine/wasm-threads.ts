/**
 * The multi-threaded wasm backend in Node.
 *
 * tfjs-backend-wasm ships a SIMD + pthreads build whose XNNPACK kernels (matrix
 * products, convolutions) split work over a thread pool, but its loader turns
 * threads off in Node (tfjs issue #3830): it hands Emscripten a browser Blob
 * for the pthread script, which Node's `Worker` cannot start. This module
 * starts that build itself with file paths Node understands and registers it
 * under the name `wasm`, so every wasm kernel (tfjs's and neurocode's
 * overrides) runs on it unchanged.
 *
 * Three details of the build have to be worked around, each noted where done:
 * the thread cap read from the core count, the eight idle workers it creates
 * up front, and the references its running threads hold on the event loop.
 *
 * Small products lose more to waking the pool than they gain from it, so
 * `singleThreaded` runs a block of kernels on the calling thread alone, and
 * `installThreadPolicy` keeps every kernel but the heavy convolutions on it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import * as tf from "@tensorflow/tfjs";

const require = createRequire(import.meta.url);

/** The Emscripten module object, as far as this file touches it. */
interface ThreadedModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  wasmMemory: { readonly buffer: ArrayBufferLike };
  HEAPU8: Uint8Array;
  PThread: { runningWorkers: { unref(): void }[] };
  tfjs?: Record<string, unknown>;
}

type Factory = (config: Record<string, unknown>) => Promise<ThreadedModule>;

/**
 * Registers the threaded SIMD build as the `wasm` backend with `threads`
 * XNNPACK threads (the calling thread plus `threads - 1` workers). Call before
 * `tf.setBackend("wasm")`; the registration wins over the single-threaded one
 * that importing `@tensorflow/tfjs-backend-wasm` made.
 */
export async function registerThreadedWasm(threads: number): Promise<void> {
  const wasmPkg = await import("@tensorflow/tfjs-backend-wasm");
  const outDir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "wasm-out");
  const script = join(outDir, "tfjs-backend-wasm-threaded-simd.js");
  const worker = fileURLToPath(new URL("./wasm-pthread-worker.cjs", import.meta.url));
  const factory = loadFactory(script, threads - 1);

  // The C++ side caps its pool at emscripten_num_logical_cores() / 2 (it assumes
  // two hyper-threads per core), read once while the module initialises; in Node
  // that is os.cpus().length. Report twice the wanted count during start-up only.
  const realCpus = os.cpus;
  const fakeCpus = (): os.CpuInfo[] => Array.from({ length: 2 * threads }, () => realCpus()[0]!);
  let mod: ThreadedModule;
  // Emscripten adds process-wide handlers that rethrow every uncaught exception
  // from inside its one-line minified script, so Node would print that whole
  // line (~100 kB) with any error; Node's own handling is what users expect.
  const beforeErr = new Set(process.listeners("uncaughtException"));
  const beforeRej = new Set(process.listeners("unhandledRejection"));
  os.cpus = fakeCpus;
  try {
    mod = await factory({
      locateFile: (file: string) => (file.endsWith(".worker.js") ? worker : join(outDir, file)),
      mainScriptUrlOrBlob: script,
    });
  } finally {
    os.cpus = realCpus;
    for (const l of process.listeners("uncaughtException")) if (!beforeErr.has(l)) process.removeListener("uncaughtException", l);
    for (const l of process.listeners("unhandledRejection")) if (!beforeRej.has(l)) process.removeListener("unhandledRejection", l);
  }
  mod.tfjs = {
    init: mod.cwrap("init", null, []),
    initWithThreadsCount: mod.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: mod.cwrap("get_threads_count", "number", []),
    registerTensor: mod.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: mod.cwrap("dispose_data", null, ["number"]),
    dispose: mod.cwrap("dispose", null, []),
  };
  followGrowth(mod);
  const binary = readFileSync(join(outDir, "tfjs-backend-wasm-threaded-simd.wasm"));
  wasmPkg.setThreadsCount(threads);
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", () => {
    const backend = new wasmPkg.BackendWasm(mod as never);
    // Running pthreads keep a reference on Node's event loop, so a script would
    // never exit; the pool's threads only ever work inside a kernel call.
    for (const w of mod.PThread.runningWorkers) w.unref();
    poolSwitch = findPoolSwitch(mod, binary, threads);
    return backend;
  }, 3);
}

/**
 * Loads the Emscripten factory from its file. The build pre-starts a fixed
 * pool of eight workers, each an isolate with its own copy of the module; the
 * source is compiled with the pool sized to what will run.
 */
function loadFactory(script: string, poolSize: number): Factory {
  const source = readFileSync(script, "utf8");
  const patched = source.replace("var pthreadPoolSize=8;", `var pthreadPoolSize=${Math.max(1, poolSize)};`);
  const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${patched}\n})`, { filename: script });
  const module = { exports: {} as unknown };
  wrapper.call(module.exports, module.exports, require, module, script, dirname(script));
  return module.exports as Factory;
}

/**
 * Shared wasm memory grows in place, but views made before a growth keep their
 * old length. A view of the whole memory, remade only when it has grown.
 */
function liveView<T extends { readonly buffer: ArrayBufferLike }>(mod: ThreadedModule, make: (b: ArrayBufferLike) => T): () => T {
  let view = make(mod.wasmMemory.buffer);
  return () => (view.buffer === mod.wasmMemory.buffer ? view : (view = make(mod.wasmMemory.buffer)));
}

/** tfjs reads `HEAPU8` directly; make it follow the memory. */
function followGrowth(mod: ThreadedModule): void {
  Object.defineProperty(mod, "HEAPU8", {
    configurable: true,
    get: liveView(mod, (b) => new Uint8Array(b)),
    set: () => {}, // Emscripten's own refresh; the getter already follows the memory
  });
}

/** Where the backend keeps its thread-pool pointer, once found and checked. */
let poolSwitch: { heap: () => Int32Array; index: number; count: () => number } | null = null;

/**
 * Threads the next wasm kernel would use, read from the backend itself: 1 inside
 * `singleThreaded` or on the single-threaded build.
 */
export function kernelThreads(): number {
  return poolSwitch ? Math.max(1, poolSwitch.count()) : 1;
}

/**
 * Runs `fn` with the wasm backend's kernels on the calling thread only
 * (XNNPACK runs single-threaded when handed no pool). A plain call when the
 * backend is single-threaded or the switch could not be verified.
 */
export function singleThreaded<T>(fn: () => T): T {
  const sw = poolSwitch;
  if (!sw) return fn();
  const heap = sw.heap();
  const pool = heap[sw.index]!;
  heap[sw.index] = 0;
  try {
    return fn();
  } finally {
    sw.heap()[sw.index] = pool;
  }
}

/**
 * Finds the address of `tfjs::backend::threadpool` in wasm memory. tfjs's
 * exported `get_threads_count` starts by loading that pointer from a constant
 * address (`i32.const ADDR; i32.load`); read ADDR from the function's code in
 * the binary, then check it: zeroing the slot must make `get_threads_count`
 * report no pool, and restoring it the full count. Any surprise: no switch.
 */
function findPoolSwitch(mod: ThreadedModule, binary: Uint8Array, threads: number): typeof poolSwitch {
  const addr = loadAddressInExport(binary, "get_threads_count");
  if (addr === null || addr % 4 !== 0) return null;
  const heap = liveView(mod, (b) => new Int32Array(b)); // read on every kernel call (singleThreaded)
  const count = mod.tfjs!.getThreadsCount as () => number;
  const index = addr / 4;
  const pool = heap()[index]!;
  if (pool === 0 || count() !== threads) return null;
  heap()[index] = 0;
  const off = count();
  heap()[index] = pool;
  return off === -1 && count() === threads ? { heap, index, count } : null;
}

/** The constant address of the first `i32.const; i32.load` in an exported function's body, if it starts that way. */
function loadAddressInExport(bin: Uint8Array, name: string): number | null {
  let pos = 8; // magic + version
  const uleb = (): number => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bin[pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  const skipName = (): void => {
    const len = uleb(); // read first: `pos += uleb()` would add to the old pos
    pos += len;
  };
  let importedFuncs = 0;
  let funcIndex = -1;
  let code = -1;
  while (pos < bin.length) {
    const id = bin[pos++]!;
    const size = uleb();
    const end = pos + size;
    if (id === 2) {
      for (let n = uleb(); n > 0; n--) {
        skipName();
        skipName();
        const kind = bin[pos++]!;
        if (kind === 0) (uleb(), importedFuncs++);
        else if (kind === 1) (pos++, bin[pos++]! & 1 ? (uleb(), uleb()) : uleb()); // table: reftype, limits
        else if (kind === 2) (bin[pos++]! & 1 ? (uleb(), uleb()) : uleb()); // memory: limits
        else if (kind === 3) pos += 2; // global: valtype, mutability
        else return null;
      }
    } else if (id === 7) {
      for (let n = uleb(); n > 0; n--) {
        const len = uleb();
        const exportName = new TextDecoder().decode(bin.subarray(pos, pos + len));
        pos += len;
        const kind = bin[pos++]!;
        const index = uleb();
        if (kind === 0 && exportName === name) funcIndex = index;
      }
    } else if (id === 10) code = pos;
    pos = end;
  }
  if (funcIndex < importedFuncs || code < 0) return null;
  pos = code;
  const bodies = uleb();
  for (let i = 0; i < bodies; i++) {
    const size = uleb();
    if (i === funcIndex - importedFuncs) {
      for (let groups = uleb(); groups > 0; groups--) (uleb(), pos++); // local declarations
      if (bin[pos++] !== 0x41) return null; // i32.const
      const addr = uleb();
      return bin[pos] === 0x28 ? addr : null; // i32.load
    }
    pos += size;
  }
  return null;
}

/** Kernels whose work grows with a reduction length, worth waking the pool for when large. */
const POOLED_KERNELS = new Set(["Conv2D", "FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2D", "Conv2DBackpropInput", "_FusedMatMul"]);

/** Output elements × reduction length below which a pooled kernel still runs on one thread. */
const POOLED_MIN_WORK = 1 << 20;

let policyInstalled = false;

/**
 * Runs the wasm backend's elementwise, reduction and data-movement kernels on
 * the calling thread, and convolutions too when they are small. Those kernels
 * are memory-bound or tiny: the pool's wake-up and hand-back cost more than a
 * second core saves, and far more when the other core is busy (measured on a
 * loaded machine: sigmoid of 64×256 values 3 ms pooled, 0.07 ms not).
 * `BatchMatMul` decides per product (see matmul.ts). Call after every wasm
 * kernel override is registered; idempotent; a no-op without the pool.
 */
export function installThreadPolicy(): void {
  if (policyInstalled || !poolSwitch) return;
  policyInstalled = true;
  for (const k of tf.getKernelsForBackend("wasm")) {
    if (k.kernelName === "BatchMatMul" || k.kernelName === "NeurocodeGroupedMatMul") continue; // they pick threads per product
    const inner = k.kernelFunc;
    const pooled = POOLED_KERNELS.has(k.kernelName);
    const kernelFunc: tf.KernelFunc = (args) => {
      if (pooled && convWork(args.inputs) >= POOLED_MIN_WORK) return inner(args);
      return singleThreaded(() => inner(args));
    };
    tf.unregisterKernel(k.kernelName, "wasm");
    tf.registerKernel({ ...k, kernelFunc });
  }
}

/** Multiply-adds of a convolution or fused product: input size × filter size / input channels (an estimate that ranks them). */
function convWork(inputs: tf.NamedTensorInfoMap): number {
  const x = inputs.x ?? inputs.a ?? inputs.dy;
  const w = inputs.filter ?? inputs.b;
  if (!x || !w) return Infinity;
  const size = (t: tf.TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);
  return (size(x) * size(w)) / Math.max(1, x.shape[x.shape.length - 1] ?? 1);
}
