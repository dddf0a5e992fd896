/**
 * BrainOmni (Xiao et al., NeurIPS 2025): the sensor-aware BrainTokenizer for
 * EEG and MEG, the stage-2 BrainOmni model, official checkpoint loading, and
 * the Recording → codes API. See README.md in this folder for the quirks.
 */
export * from "./config.js";
export * from "./sensors.js";
export * from "./preprocess.js";
export * from "./sensor-encoder.js";
export * from "./seanet.js";
export * from "./derived.js";
export * from "./cross-attention.js";
export * from "./quantizer.js";
export * from "./losses.js";
export * from "./tokenizer.js";
export * from "./omni.js";
export * from "./checkpoint.js";
export * from "./names.js";
export * from "./simulate.js";
export * from "./train.js";
export * from "./api.js";
export * from "./features.js";
