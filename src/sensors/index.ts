export * from "./sensor.js";
export * from "./coil-types.js";
export * from "./fif-sensor.js";
export * from "./labels.js";
export * from "./montage.js";
export * from "./montage-sources.js";
export * from "./attach.js";
export * from "./bipolar.js";
