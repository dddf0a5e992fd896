export * from "./constants.js";
export * from "./source.js";
export * from "./tag.js";
export * from "./tree.js";
export * from "./info.js";
export * from "./raw.js";
export * from "./read.js";
export * from "./writer.js";
