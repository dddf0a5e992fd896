export * from "./sensor.js";
export * from "./coil-types.js";
export * from "./fif-sensor.js";
