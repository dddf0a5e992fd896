import * as tf from "@tensorflow/tfjs";

/*
 * The wasm backend's BatchMatMul kernel runs its fast (XNNPACK) path only for
 * untransposed operands; with `transposeA`/`transposeB` it falls back to a
 * scalar loop that is 4-15x slower (2048x128·128x512: 20 ms plain, 119 ms
 * transposeB, 384 ms transposeA). Materialising the transpose first costs a
 * few ms. Gradients of every matMul need transposed operands, so this single
 * kernel override speeds up all backward passes. The override sits under the
 * public `tf.matMul`, so callers keep writing plain tfjs.
 */

type KernelArgs = Parameters<tf.KernelConfig["kernelFunc"]>[0];
type Info = tf.TensorInfo;

interface WasmLikeBackend {
  disposeData(dataId: object): boolean;
}

let installed = false;

/** Swaps the last two axes of `x` with the backend's own Transpose kernel. */
function transposeLast2(x: Info, args: KernelArgs): Info {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  const k = tf.getKernel("Transpose", "wasm");
  return k.kernelFunc({ inputs: { x }, backend: args.backend, attrs: { perm } }) as Info;
}

/**
 * Replaces the wasm `BatchMatMul` kernel with one that transposes operands
 * into the canonical layout before calling the original kernel. Idempotent;
 * does nothing when the wasm backend is not registered.
 */
export function installFastMatMul(): void {
  if (installed) return;
  const original = tf.getKernel("BatchMatMul", "wasm");
  if (!original) return;
  installed = true;
  const run = original.kernelFunc;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({
    kernelName: "BatchMatMul",
    backendName: "wasm",
    kernelFunc: (args: KernelArgs) => {
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return run(args);
      const { a, b } = args.inputs as { a: Info; b: Info };
      const backend = args.backend as unknown as WasmLikeBackend;
      const a2 = transposeA ? transposeLast2(a, args) : a;
      const b2 = transposeB ? transposeLast2(b, args) : b;
      try {
        return run({ ...args, inputs: { a: a2, b: b2 }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
      } finally {
        if (a2 !== a) backend.disposeData(a2.dataId);
        if (b2 !== b) backend.disposeData(b2.dataId);
      }
    },
  });
}
