export * from "./schema.js";
export * from "./inputs.js";
export * from "./windowing.js";
export * from "./process.js";
export * from "./runner.js";
