export * from "./metrics.js";
export * from "./dataset.js";
export * from "./loop.js";
export * from "./finetune.js";
export * from "./encoders.js";
export * from "./pretrain.js";
