import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.js";
import { installFusedKernels } from "./fused.js";
import { installGroupedKernels } from "./grouped.js";
import { installHeadKernels } from "./heads.js";
import { installFastKernels } from "./kernels.js";
import { installFastMatMul } from "./matmul.js";
import { installThreadPolicy, registerThreadedWasm } from "./wasm-threads.js";

/** The tensor backends neurocode can run on, fastest first. */
export type BackendName = "tensorflow" | "wasm" | "cpu";

const BACKENDS: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

let chosen: Promise<BackendName> | null = null;

/**
 * Selects and initialises the tensor backend once per process and returns its name.
 *
 * Order: `tensorflow` (native TensorFlow through `@tensorflow/tfjs-node`, an
 * optional dependency) when it loads, else `wasm` (SIMD; its matrix products
 * and convolutions run on one thread per core, see `wasm-threads.ts`), else
 * `cpu` (pure JS). The environment variable `NEUROCODE_BACKEND` forces one of
 * the three; forcing a backend that cannot start is a `ConfigError` rather
 * than a silent fallback. `NEUROCODE_THREADS` sets the wasm thread count
 * (default: the available cores; 1 runs tfjs's single-threaded build). The
 * choice is printed once to stderr. Later calls return the same promise.
 */
export function initBackend(): Promise<BackendName> {
  chosen ??= selectBackend().then(
    (name) => {
      const threads = name === "wasm" ? `, ${wasmThreads} thread${wasmThreads === 1 ? "" : "s"}` : "";
      process.stderr.write(`neurocode: tensor backend ${name}${threads}\n`);
      return name;
    },
    (e: unknown) => {
      chosen = null; // a bad NEUROCODE_BACKEND can be corrected and retried
      throw e;
    },
  );
  return chosen;
}

async function selectBackend(): Promise<BackendName> {
  wasmThreads = threadsWanted();
  const forced = process.env.NEUROCODE_BACKEND?.trim();
  if (forced) {
    if (!(BACKENDS as readonly string[]).includes(forced)) {
      throw new ConfigError("NEUROCODE_BACKEND", `unknown backend "${forced}" (expected ${BACKENDS.join(", ")})`);
    }
    const name = forced as BackendName;
    if (!(await tryBackend(name))) throw new ConfigError("NEUROCODE_BACKEND", `backend "${name}" failed to initialise`);
    return name;
  }
  for (const name of BACKENDS) if (await tryBackend(name)) return name;
  throw new ConfigError("NEUROCODE_BACKEND", "no tensor backend could be initialised");
}

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    if (name === "tensorflow") {
      // A string variable keeps bundlers and tsc from resolving the optional package.
      const pkg = "@tensorflow/tfjs-node";
      await import(pkg);
    } else if (name === "wasm") {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      if (wasmThreads > 1) {
        try {
          await registerThreadedWasm(wasmThreads);
        } catch {
          wasmThreads = 1; // the single-threaded build registered on import stays in place
        }
      }
      if (wasmThreads === 1) wasm.setWasmPaths(wasmDistDir());
    }
    const ok = await tf.setBackend(name);
    if (!ok || tf.getBackend() !== name) return false;
    await tf.ready();
    if (name === "wasm") {
      installFastMatMul();
      installFastKernels();
      installFusedKernels();
      installGroupedKernels();
      installHeadKernels();
      installThreadPolicy();
    }
    return true;
  } catch {
    return false;
  }
}

let wasmThreads = 1;

function threadsWanted(): number {
  const raw = process.env.NEUROCODE_THREADS?.trim();
  if (!raw) return Math.max(1, availableParallelism());
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError("NEUROCODE_THREADS", `expected a positive integer, got "${raw}"`);
  return n;
}

/** Folder holding the `.wasm` binaries, resolved through Node so it works from src/, dist/ and tests. */
function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve("@tensorflow/tfjs-backend-wasm");
  // main is .../tfjs-backend-wasm/dist/(tf-backend-wasm.node.js|index.js)
  return join(dirname(main), "/").replace(/\\/g, "/");
}
