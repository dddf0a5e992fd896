export * from "./line.js";
