/** A signal row: neurocode stores float32, computations accumulate in float64. */
export type FloatArray = Float32Array | Float64Array;
