export * from "./line.js";
export * from "./bars.js";
