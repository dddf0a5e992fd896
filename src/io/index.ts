export * from "./atomic.js";
export * from "./npy.js";
export * from "./npy-recording.js";
export * from "./npy-stream.js";
export * from "./open.js";
export * from "./edf/index.js";
export * from "./arrow.js";
export * from "./fif/index.js";
