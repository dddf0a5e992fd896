export * from "./sensor.js";
