/**
 * neurocode's public API: everything a lab script imports.
 * Layers, left to right: io, sensors → recording ← signal; engine → nn → moe, inspect → models, bio → train → pipeline.
 */
export * from "./errors.js";
export * from "./warnings.js";
export { VERSION } from "./version.js";
export * from "./recording/index.js";
export * from "./sensors/index.js";
export * from "./io/index.js";
export * from "./signal/index.js";
export * from "./engine/index.js";
export * from "./nn/index.js";
export * from "./inspect/index.js";
export * from "./moe/index.js";
export * from "./models/index.js";
export * from "./train/index.js";
export * from "./pipeline/index.js";
export * from "./plot/index.js";
