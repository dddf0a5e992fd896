/**
 * Signal processing that reproduces MNE-Python 1.3 and scipy 1.10 numerics
 * on float32 recordings (float64 accumulation): FIR/IIR filtering, notch,
 * resampling, re-referencing, normalisation, µ-law, Welch PSD, bad channels,
 * windows, and Recording-level wrappers that use worker threads for long data.
 */
export * from "./types.js";
export * from "./fft.js";
export * from "./tapers.js";
export * from "./fir.js";
export * from "./convolve.js";
export * from "./iir.js";
export * from "./resample.js";
export * from "./kernels.js";
export * from "./parallel.js";
export * from "./recording-ops.js";
export * from "./reference.js";
export * from "./normalize.js";
export * from "./mulaw.js";
export * from "./spectrum.js";
export * from "./bads.js";
export * from "./windows.js";
