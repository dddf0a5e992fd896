export { initBackend, type BackendName } from "./backend.js";
export { installFastMatMul, removeFastMatMul } from "./matmul.js";
export { installFastKernels, removeFastKernels, transposeInto } from "./kernels.js";
export { Rng, rng, manualSeed } from "./random.js";
export { TensorLeakError, liveTensors, assertNoLeak, assertNoLeakAsync } from "./memory.js";
export { gatherRows } from "./gather.js";
export { geluExact, layerNormAffine, installFusedKernels } from "./fused.js";
export { groupedMatMul, groupedInnerProducts, segmentSum, groupedKernelsActive } from "./grouped.js";
export { lstmFusable, lstmLayerFused } from "./recurrent.js";
