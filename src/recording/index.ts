export * from "./types.js";
export * from "./time.js";
export * from "./recording.js";
export * from "./summary.js";
