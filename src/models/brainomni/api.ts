import * as tf from "@tensorflow/tfjs";
import { buildTable } from "../../io/arrow.js";
import type { Recording } from "../../recording/types.js";
import { ConfigError } from "../../errors.js";
import { framesPerWindow } from "./config.js";
import { applyRecipe, PRETRAINING_RECIPE, tokenizerInputs, type PreprocessStep, type TokenizerInputOptions } from "./preprocess.js";
import type { SensorVectors } from "./sensors.js";
import type { BrainTokenizer } from "./tokenizer.js";
import type { Table } from "apache-arrow";

/** Codes of one tokenized segment. */
export interface SegmentCodes {
  /** Segment index within the recording. */
  window: number;
  /** Start in seconds from the recording's first sample. */
  startTime: number;
  /** int32 [P, F, Q] row-major: source, frame (F = windows × 8), quantizer level. */
  codes: Int32Array;
  /** With `report`: mean |x̂ − x̃| over the segment's channels and samples. */
  reconL1?: number;
  /** With `report`: mean per-window Pearson correlation of reconstruction and target. */
  reconPcc?: number;
}

/** Result of `tokenizeRecording`. */
export interface TokenizedRecording {
  segments: SegmentCodes[];
  nSources: number;
  nFrames: number;
  nQuantizers: number;
  channelNames: string[];
}

/** Options of `tokenizeRecording`. */
export interface TokenizeRecordingOptions extends TokenizerInputOptions {
  /** Preprocessing before segmentation: a recipe, `"pretraining"` (default) or `"none"` (input already at 256 Hz and filtered). */
  recipe?: readonly PreprocessStep[] | "pretraining" | "none";
  /** Segments per forward pass (default 8). */
  batchSize?: number;
  /** Also reconstruct and measure the error per segment (default false). */
  report?: boolean;
}

/** pos/type tensors for B copies of one sensor set. */
function sensorTensors(s: SensorVectors, B: number): { pos: tf.Tensor; sensorType: tf.Tensor } {
  return tf.tidy(() => ({
    pos: tf.tile(tf.tensor3d(s.pos, [1, s.nChannels, 6]), [B, 1, 1]),
    sensorType: tf.tile(tf.tensor2d(s.type, [1, s.nChannels], "int32"), [B, 1]),
  }));
}

/**
 * Tokenizes a Recording: preprocess (default: the pretraining recipe), cut
 * into segments of `segmentSeconds` (default 2 s = one tokenizer window),
 * normalise each by sensor group, and run the tokenizer in batches. Any
 * channel count and mix of EEG/MEG works; channels need sensor geometry.
 */
export function tokenizeRecording(tokenizer: BrainTokenizer, rec: Recording, opts: TokenizeRecordingOptions = {}): TokenizedRecording {
  const recipe = opts.recipe ?? "pretraining";
  const pre = recipe === "none" ? rec : applyRecipe(rec, recipe === "pretraining" ? PRETRAINING_RECIPE : recipe);
  const inputs = tokenizerInputs(pre, opts);
  const batchSize = opts.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError("batchSize", `must be a positive integer, got ${batchSize}`);
  const C = inputs.sensors.nChannels;
  const T = inputs.segmentSamples;
  const cfg = tokenizer.cfg;
  const nWin = Math.max(1, Math.floor(T / cfg.windowLength));
  const F = nWin * framesPerWindow(cfg);
  const Q = cfg.numQuantizers;
  const P = cfg.nNeuro;
  const out: SegmentCodes[] = [];
  for (let b0 = 0; b0 < inputs.segments.length; b0 += batchSize) {
    const items = inputs.segments.slice(b0, b0 + batchSize);
    const B = items.length;
    const xData = new Float32Array(B * C * T);
    items.forEach((seg, i) => xData.set(seg, i * C * T));
    const x = tf.tensor3d(xData, [B, C, T]);
    const { pos, sensorType } = sensorTensors(inputs.sensors, B);
    const batch = { x, pos, sensorType };
    let codes: Int32Array;
    let l1: Float32Array | null = null;
    let pcc: Float32Array | null = null;
    if (opts.report) {
      const r = tokenizer.reconstruct(batch);
      codes = Int32Array.from(r.indices.dataSync()); // [B, P, N, 8, Q] = [B, P, F, Q]
      [l1, pcc] = tf.tidy(() => {
        const d = tf.mean(tf.abs(tf.sub(r.xRec, r.target)), [1, 2, 3]);
        const L = cfg.windowLength;
        const a = tf.sub(r.xRec, tf.mean(r.xRec, -1, true));
        const t = tf.sub(r.target, tf.mean(r.target, -1, true));
        const cov = tf.div(tf.sum(tf.mul(a, t), -1), L - 1);
        const sd = tf.mul(tf.sqrt(tf.div(tf.sum(tf.square(a), -1), L - 1)), tf.sqrt(tf.div(tf.sum(tf.square(t), -1), L - 1)));
        const p = tf.mean(tf.div(cov, tf.add(sd, 1e-6)), [1, 2]);
        return [d.dataSync() as Float32Array, p.dataSync() as Float32Array];
      });
      tf.dispose([r.xRec, r.target, r.indices, ...Object.values(r.losses)]);
    } else {
      const r = tokenizer.tokenize(batch, 0);
      codes = Int32Array.from(r.indices.dataSync()); // [B, P, F, Q]
      tf.dispose([r.features, r.indices]);
    }
    tf.dispose([x, pos, sensorType]);
    const per = P * F * Q;
    items.forEach((_, i) => {
      const s: SegmentCodes = { window: b0 + i, startTime: inputs.starts[b0 + i]!, codes: codes.slice(i * per, (i + 1) * per) };
      if (l1 && pcc) {
        s.reconL1 = l1[i]!;
        s.reconPcc = pcc[i]!;
      }
      out.push(s);
    });
  }
  return { segments: out, nSources: P, nFrames: F, nQuantizers: Q, channelNames: inputs.channelNames };
}

/**
 * The codes of one or more files as one Arrow table, one row per (file,
 * window, frame, source): `file`, `window`, `start_time` (s), `frame`,
 * `source`, `code_0`…`code_{Q−1}`, and with reports `recon_l1`, `recon_pcc`
 * (per window, repeated on its rows). Schema metadata holds the frame hop.
 */
export function codesTable(files: { file: string; result: TokenizedRecording }[], meta: Record<string, string> = {}): Table {
  let rows = 0;
  for (const f of files) rows += f.result.segments.length * f.result.nFrames * f.result.nSources;
  const Q = files[0]?.result.nQuantizers ?? 4;
  const file: string[] = new Array(rows);
  const window = new Int32Array(rows);
  const start = new Float64Array(rows);
  const frame = new Int32Array(rows);
  const source = new Int32Array(rows);
  const codeCols = Array.from({ length: Q }, () => new Int32Array(rows));
  const report = files.some((f) => f.result.segments.some((s) => s.reconL1 !== undefined));
  const l1 = new Float32Array(report ? rows : 0);
  const pcc = new Float32Array(report ? rows : 0);
  let r = 0;
  for (const f of files) {
    const { nSources: P, nFrames: F } = f.result;
    for (const s of f.result.segments) {
      for (let t = 0; t < F; t++) {
        for (let p = 0; p < P; p++) {
          file[r] = f.file;
          window[r] = s.window;
          start[r] = s.startTime;
          frame[r] = t;
          source[r] = p;
          for (let q = 0; q < Q; q++) codeCols[q]![r] = s.codes[(p * F + t) * Q + q]!;
          if (report) {
            l1[r] = s.reconL1 ?? NaN;
            pcc[r] = s.reconPcc ?? NaN;
          }
          r++;
        }
      }
    }
  }
  const cols: Record<string, string[] | Int32Array | Float64Array | Float32Array> = { file, window, start_time: start, frame, source };
  codeCols.forEach((c, q) => (cols[`code_${q}`] = c));
  if (report) {
    cols.recon_l1 = l1;
    cols.recon_pcc = pcc;
  }
  return buildTable(cols, meta);
}

/**
 * Decodes a codes table (as written by `codesTable`) for the sensors given:
 * each (file, window) becomes the sum of its codewords per source and frame,
 * then the sensor-query decoder reconstructs every sensor. The output is the
 * model's target scale (each window z-scored per channel).
 * @returns float32 [windows, C, F/8 · windowLength] in table order
 */
export function decodeCodes(tokenizer: BrainTokenizer, table: Table, sensors: SensorVectors): { data: Float32Array; shape: number[] } {
  const cfg = tokenizer.cfg;
  const Q = cfg.numQuantizers;
  const P = cfg.nNeuro;
  const col = (name: string): ArrayLike<number> => {
    const c = table.getChild(name);
    if (!c) throw new ConfigError(`codes.${name}`, "column missing (not a neurocode codes table?)");
    return c.toArray() as ArrayLike<number>;
  };
  const files = table.getChild("file")?.toArray() as string[] | undefined;
  if (!files) throw new ConfigError("codes.file", "column missing (not a neurocode codes table?)");
  const window = col("window");
  const frame = col("frame");
  const source = col("source");
  const codes = Array.from({ length: Q }, (_, q) => col(`code_${q}`));
  const keys: string[] = [];
  const rowsOf = new Map<string, number[]>();
  for (let r = 0; r < table.numRows; r++) {
    const key = `${files[r]}\u0000${window[r]}`;
    let list = rowsOf.get(key);
    if (!list) rowsOf.set(key, (list = []));
    if (list.length === 0) keys.push(key);
    list.push(r);
  }
  let F = 0;
  for (let r = 0; r < table.numRows; r++) F = Math.max(F, frame[r]! + 1);
  const T = framesPerWindow(cfg);
  if (F % T !== 0) throw new ConfigError("codes.frame", `frame count ${F} is not a multiple of ${T}`);
  const C = sensors.nChannels;
  const L = (F / T) * cfg.windowLength;
  const out = new Float32Array(keys.length * C * L);
  const { pos, sensorType } = sensorTensors(sensors, 1);
  const books = tokenizer.quantizer.codebooks();
  keys.forEach((key, w) => {
    const idx = new Int32Array(P * F * Q);
    for (const r of rowsOf.get(key)!) {
      if (source[r]! >= P || codes.some((c) => c[r]! < 0 || c[r]! >= cfg.codebookSize)) throw new ConfigError("codes", `row ${r} does not fit this checkpoint (${P} sources, ${cfg.codebookSize} codes)`);
      for (let q = 0; q < Q; q++) idx[(source[r]! * F + frame[r]!) * Q + q] = codes[q]![r]!;
    }
    const rec = tf.tidy(() => {
      const ids = tf.tensor2d(idx, [P * F, Q], "int32");
      const feats = tf.addN(books.map((b, q) => tf.gather(b.embed, tf.squeeze(tf.slice(ids, [0, q], [-1, 1]), [1]))));
      return tokenizer.decode(feats.reshape([1, P, F, cfg.nDim]), pos, sensorType); // [1, C, N, L]
    });
    out.set(rec.dataSync(), w * C * L);
    rec.dispose();
  });
  tf.dispose([pos, sensorType]);
  return { data: out, shape: [keys.length, C, L] };
}
