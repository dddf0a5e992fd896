export * from "./module.js";
export * from "./init.js";
export * from "./linear.js";
export * from "./embedding.js";
export * from "./norms.js";
