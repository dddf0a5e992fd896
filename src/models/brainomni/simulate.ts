import * as tf from "@tensorflow/tfjs";
import { ValueError } from "../../errors.js";
import type { Rng } from "../../engine/random.js";
import { normalizePositions, type SensorVectors } from "./sensors.js";

/** A simulated batch: signals, sensor vectors (normalised) and the geometry used. */
export interface SimulatedBatch {
  /** [B, C, T] row-major, group-normalised like real input. */
  x: Float32Array;
  /** Sensor vectors shared by the batch items. */
  sensors: SensorVectors;
  B: number;
  C: number;
  T: number;
}

/** Options of `simulateBatch`. */
export interface SimulateOptions {
  /** Items per batch. */
  batch: number;
  /** Channels per item. */
  channels: number;
  /** Samples per item (256 Hz). */
  samples: number;
  /** Sensor types: all EEG, all MEG (MAG + planar GRAD pairs), or a mix (default `mixed`). */
  kind?: "eeg" | "meg" | "mixed";
  /** Dipolar sources per item (default 3). */
  sources?: number;
  /** Sensor noise relative to the signal std (default 0.05). */
  noise?: number;
}

/**
 * Spatially smooth multichannel signals for training and tests: a few
 * oscillating sources (4–30 Hz, random phase, slow amplitude drift) inside a
 * unit head, seen by sensors on a hemisphere through 1/distance² gains, plus
 * white noise. Because neighbouring sensors see nearly the same mixture, a
 * channel hidden from the encoder can be predicted from its position: this is
 * what the 25% channel drop trains. Each item is normalised per sensor group
 * (common average, one std), as the real pipeline does.
 */
export function simulateBatch(r: Rng, opts: SimulateOptions): SimulatedBatch {
  const { batch: B, channels: C, samples: T } = opts;
  if (!(B >= 1 && C >= 2 && T >= 1)) throw new ValueError(`simulateBatch needs batch ≥ 1, channels ≥ 2, samples ≥ 1 (got ${B}, ${C}, ${T})`);
  const kind = opts.kind ?? "mixed";
  const K = opts.sources ?? 3;
  const noise = opts.noise ?? 0.05;
  // Sensors: random points on the upper hemisphere of radius 1 (then centred/scaled by normalize_pos).
  const pos = new Float32Array(C * 6);
  const type = new Int32Array(C);
  const xyz: number[][] = [];
  for (let c = 0; c < C; c++) {
    const z = r.uniform() * 0.9 + 0.1;
    const phi = r.uniform() * 2 * Math.PI;
    const rho = Math.sqrt(1 - z * z);
    const p = [rho * Math.cos(phi), rho * Math.sin(phi), z];
    xyz.push(p);
    const t = kind === "eeg" ? 0 : kind === "meg" ? 1 + (c % 2) : c % 3;
    type[c] = t;
    pos.set(p, c * 6);
    if (t !== 0) pos.set(t === 1 ? p : [-p[1]! / Math.max(rho, 1e-6), p[0]! / Math.max(rho, 1e-6), 0], c * 6 + 3);
  }
  const sensors = normalizePositions({ pos, type, nChannels: C });
  const x = new Float32Array(B * C * T);
  const sfreq = 256;
  for (let b = 0; b < B; b++) {
    const gains: number[][] = [];
    const waves: Float32Array[] = [];
    for (let k = 0; k < K; k++) {
      const src = [r.normal() * 0.3, r.normal() * 0.3, 0.3 + r.uniform() * 0.3];
      gains.push(xyz.map((p) => 1 / (0.05 + (p[0]! - src[0]!) ** 2 + (p[1]! - src[1]!) ** 2 + (p[2]! - src[2]!) ** 2)));
      const f = 4 + r.uniform() * 26;
      const ph = r.uniform() * 2 * Math.PI;
      const drift = r.uniform() * 0.5;
      const w = new Float32Array(T);
      for (let t = 0; t < T; t++) w[t] = Math.sin((2 * Math.PI * f * t) / sfreq + ph) * (1 + drift * Math.sin((2 * Math.PI * 0.5 * t) / sfreq));
      waves.push(w);
    }
    for (let c = 0; c < C; c++) {
      const row = x.subarray((b * C + c) * T, (b * C + c + 1) * T);
      for (let k = 0; k < K; k++) {
        const g = gains[k]![c]!;
        const w = waves[k]!;
        for (let t = 0; t < T; t++) row[t]! += g * w[t]!;
      }
    }
    // Group normalisation per item (common average and one std per sensor type), then noise.
    for (const g of [0, 1, 2]) {
      const idx = [...type.keys()].filter((c) => type[c] === g);
      if (idx.length === 0) continue;
      const mean = new Float64Array(T);
      if (idx.length > 1) for (const c of idx) for (let t = 0; t < T; t++) mean[t]! += x[(b * C + c) * T + t]! / idx.length;
      let ss = 0;
      for (const c of idx) for (let t = 0; t < T; t++) ss += (x[(b * C + c) * T + t]! - mean[t]!) ** 2;
      const sd = Math.sqrt(ss / (idx.length * T)) || 1;
      for (const c of idx) for (let t = 0; t < T; t++) x[(b * C + c) * T + t] = (x[(b * C + c) * T + t]! - mean[t]!) / sd + noise * r.normal();
    }
  }
  return { x, sensors, B, C, T };
}

/** A simulated batch as tokenizer input tensors (the caller disposes them). */
export function simulatedTensors(sim: SimulatedBatch): { x: tf.Tensor; pos: tf.Tensor; sensorType: tf.Tensor } {
  return tf.tidy(() => ({
    x: tf.tensor3d(sim.x, [sim.B, sim.C, sim.T]),
    pos: tf.tile(tf.tensor3d(sim.sensors.pos, [1, sim.C, 6]), [sim.B, 1, 1]),
    sensorType: tf.tile(tf.tensor2d(sim.sensors.type, [1, sim.C], "int32"), [sim.B, 1]),
  }));
}
