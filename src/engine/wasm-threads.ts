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
 */
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
  os.cpus = fakeCpus;
  try {
    mod = await factory({
      locateFile: (file: string) => (file.endsWith(".worker.js") ? worker : join(outDir, file)),
      mainScriptUrlOrBlob: script,
    });
  } finally {
    os.cpus = realCpus;
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
  wasmPkg.setThreadsCount(threads);
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", () => {
    const backend = new wasmPkg.BackendWasm(mod as never);
    // Running pthreads keep a reference on Node's event loop, so a script would
    // never exit; the pool's threads only ever work inside a kernel call.
    for (const w of mod.PThread.runningWorkers) w.unref();
    return backend;
  }, 3);
}

/**
 * Loads the Emscripten factory from its file. The build pre-starts a fixed
 * pool of eight workers, each an isolate with its own copy of the module; the
 * source is compiled with the pool sized to what will run.
 */
function loadFactory(script: string, poolSize: number): Factory {
  const source = require("node:fs").readFileSync(script, "utf8") as string;
  const patched = source.replace("var pthreadPoolSize=8;", `var pthreadPoolSize=${Math.max(1, poolSize)};`);
  const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${patched}\n})`, { filename: script });
  const module = { exports: {} as unknown };
  wrapper.call(module.exports, module.exports, require, module, script, dirname(script));
  return module.exports as Factory;
}

/**
 * Shared wasm memory grows in place, but views made before a growth keep their
 * old length. tfjs reads `HEAPU8` directly; make it follow the memory.
 */
function followGrowth(mod: ThreadedModule): void {
  let view = new Uint8Array(mod.wasmMemory.buffer);
  Object.defineProperty(mod, "HEAPU8", {
    configurable: true,
    get: () => {
      const buffer = mod.wasmMemory.buffer;
      if (view.buffer !== buffer) view = new Uint8Array(buffer);
      return view;
    },
    set: () => {}, // Emscripten's own refresh; the getter already follows the memory
  });
}
