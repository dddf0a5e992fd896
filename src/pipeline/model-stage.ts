/**
 * The pipeline's model stages: `tokenize` (BrainOmni codes per window) and
 * `embed` (one feature vector per window). TensorFlow.js and the model load
 * lazily, once per worker, so pipelines without a model stage stay light.
 */
import type { ChannelInfo } from "../recording/types.js";
import { ConfigError } from "../errors.js";

/** What a model stage adds to each window's row. */
export interface ModelColumns {
  /** Column name → per-window values, `width` values per window. */
  name: string;
  values: Float32Array | Int32Array;
  width: number;
  /** Shape of one window's values (e.g. `[sources, frames, quantizers]`). */
  shape: number[];
  /** Metadata describing the column (shape, checkpoint, rate). */
  metadata: Record<string, string>;
}

const loaded = new Map<string, Promise<unknown>>();

async function tokenizerFor(checkpoint: string | undefined) {
  const [{ initBackend }, ck] = await Promise.all([import("../engine/backend.js"), import("../models/brainomni/checkpoint.js")]);
  await initBackend();
  const path = checkpoint ?? ck.bundledTokenizerPath();
  if (!loaded.has(path)) loaded.set(path, Promise.resolve(ck.loadTokenizer(path)));
  return { path, tokenizer: (await loaded.get(path)) as ReturnType<typeof ck.loadTokenizer> };
}

/**
 * Runs `kind` on windows `[n, C, T]` (256 Hz; `T` a whole number of tokenizer
 * windows) of `channels` (with sensor geometry), in batches of 8.
 */
export async function runModelStage(kind: "tokenize" | "embed", checkpoint: string | undefined, x: Float32Array, n: number, channels: ChannelInfo[], sfreq: number, T: number): Promise<ModelColumns> {
  const [tf, features, { BRAINOMNI_SFREQ }] = await Promise.all([import("@tensorflow/tfjs"), import("../models/brainomni/features.js"), import("../models/brainomni/preprocess.js")]);
  if (sfreq !== BRAINOMNI_SFREQ) throw new ConfigError(kind, `BrainOmni needs windows at ${BRAINOMNI_SFREQ} Hz; add "resample: ${BRAINOMNI_SFREQ}" before window (windows are at ${sfreq} Hz)`);
  const missing = channels.filter((c) => !c.sensor).map((c) => c.name);
  if (missing.length) throw new ConfigError(kind, `channels without sensor geometry: ${missing.slice(0, 8).join(", ")} (pick EEG channels with 10-05 labels, or MEG from FIF)`);
  const { path, tokenizer } = await tokenizerFor(checkpoint);
  if (T % tokenizer.cfg.windowLength !== 0) throw new ConfigError("window.length", `${kind} needs windows of a multiple of ${tokenizer.cfg.windowLength / BRAINOMNI_SFREQ} s`);
  const C = channels.length;
  const xs = x.slice();
  features.normalizeWindowsForTokenizer(xs, channels, T);
  const sensors = features.channelSensorVectors(channels);
  const enc = features.tokenizerFeatureEncoder(tokenizer, sensors);
  const batch = 8;
  let width = 0;
  const parts: (Float32Array | Int32Array)[] = [];
  let shape: number[] = [];
  for (let b0 = 0; b0 < n; b0 += batch) {
    const B = Math.min(batch, n - b0);
    const xb = tf.tensor3d(xs.subarray(b0 * C * T, (b0 + B) * C * T), [B, C, T]);
    try {
      if (kind === "embed") {
        const f = enc.embed(xb);
        parts.push(f.dataSync() as Float32Array);
        width = f.shape[1]!;
        shape = [width];
        f.dispose();
      } else {
        const pos = tf.tile(tf.tensor3d(sensors.pos, [1, C, 6]), [B, 1, 1]);
        const sensorType = tf.tile(tf.tensor2d(sensors.type, [1, C], "int32"), [B, 1]);
        const r = tokenizer.tokenize({ x: xb, pos, sensorType }, 0);
        parts.push(Int32Array.from(r.indices.dataSync()));
        shape = r.indices.shape.slice(1) as number[]; // [P, F, Q]
        width = shape.reduce((a, v) => a * v, 1);
        tf.dispose([pos, sensorType, r.indices, r.features]);
      }
    } finally {
      xb.dispose();
    }
  }
  const values = kind === "embed" ? new Float32Array(n * width) : new Int32Array(n * width);
  let off = 0;
  for (const p of parts) {
    values.set(p as never, off);
    off += p.length;
  }
  const base = path.split(/[\\/]/).pop()!;
  return kind === "embed"
    ? { name: "embedding", values, width, shape, metadata: { "embedding.shape": JSON.stringify(shape), "embedding.checkpoint": base } }
    : { name: "codes", values, width, shape, metadata: { "codes.shape": JSON.stringify(shape), "codes.axes": JSON.stringify(["source", "frame", "quantizer"]), "codes.checkpoint": base } };
}
