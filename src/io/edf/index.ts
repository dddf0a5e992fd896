export * from "./header.js";
export * from "./tal.js";
export * from "./channels.js";
export * from "./reader.js";
export * from "./writer.js";
export * from "./to-npy.js";
