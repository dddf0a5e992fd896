/**
 * Pretraining the BrainOmni tokenizer on a set of recordings (and, if asked,
 * simulated signals), resumable: the tokenizer (with its EMA codebooks), both
 * optimisers, the step and the random stream are saved together, so a run
 * that is stopped and resumed reaches the weights an uninterrupted run does.
 */
import { join } from "node:path";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import * as tf from "@tensorflow/tfjs";
import { rng } from "../engine/random.js";
import { asFileAccessError, ConfigError } from "../errors.js";
import { readRecording, RECORDING_GLOBS } from "../io/open.js";
import type { HostTensor } from "../nn/module.js";
import { readSafetensors, writeSafetensors } from "../nn/safetensors.js";
import { saveCheckpoint } from "../models/brainomni/checkpoint.js";
import { DEMO_TOKENIZER, isOmniConfig, parseOfficialConfig, RELEASED_TOKENIZER, type BrainTokenizerConfig } from "../models/brainomni/config.js";
import { applyRecipe, PRETRAINING_RECIPE, tokenizerInputs } from "../models/brainomni/preprocess.js";
import type { SensorVectors } from "../models/brainomni/sensors.js";
import { simulateBatch, simulatedTensors } from "../models/brainomni/simulate.js";
import { BrainTokenizer } from "../models/brainomni/tokenizer.js";
import { TokenizerTrainer, type TokenizerStepLog } from "../models/brainomni/train.js";

/** One recording's 2-s segments, normalised, with its sensors. */
interface SegmentPool {
  file: string;
  segments: Float32Array[];
  sensors: SensorVectors;
  T: number;
}

export interface PretrainOptions {
  /** Recordings to learn from (EDF/BDF/FIF; EEG channels need montage labels, MEG comes with geometry). */
  files: string[];
  config: BrainTokenizerConfig;
  steps: number;
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Share of steps on simulated EEG/MEG mixtures instead of recordings (0–1). */
  simulatedFraction: number;
  /** Folder for `tokenizer.safetensors` and `train-state.safetensors`. */
  out: string;
  resume: boolean;
  /** Steps between state saves. */
  saveEvery: number;
  /** Stop after this many steps in this call (tests, time budgets). */
  maxSteps?: number;
  onLog?: (log: TokenizerStepLog) => void;
}

const STATE = "train-state.safetensors";

function loadPools(files: string[]): SegmentPool[] {
  return files.map((file) => {
    const rec = applyRecipe(readRecording(file, { onWarning: () => {} }), PRETRAINING_RECIPE);
    const inputs = tokenizerInputs(rec);
    return { file, segments: inputs.segments, sensors: inputs.sensors, T: inputs.segmentSamples };
  });
}

function saveState(path: string, trainer: TokenizerTrainer): void {
  const s = trainer.stateDict();
  const tensors = new Map<string, tf.Tensor | HostTensor>();
  for (const [n, t] of trainer.tokenizer.stateDict()) tensors.set(`model.${n}`, t);
  for (const [n, t] of s.decay.slots) tensors.set(`decay.${n}`, t);
  for (const [n, t] of s.noDecay.slots) tensors.set(`nodecay.${n}`, t);
  const meta = { step: s.step, rng: rng().getState(), decay: { stepCount: s.decay.stepCount, lr: s.decay.lr }, noDecay: { stepCount: s.noDecay.stepCount, lr: s.noDecay.lr } };
  writeSafetensors(path, tensors, { loop: JSON.stringify(meta) });
}

function loadState(path: string, trainer: TokenizerTrainer): void {
  const file = readSafetensors(path);
  const meta = JSON.parse(file.metadata.loop ?? "null") as { step: number; rng: ReturnType<ReturnType<typeof rng>["getState"]>; decay: { stepCount: number; lr: number }; noDecay: { stepCount: number; lr: number } } | null;
  if (!meta) throw new ConfigError("resume", `${path} holds no training state`);
  const part = (prefix: string) => new Map(file.tensors.filter((t) => t.name.startsWith(prefix)).map((t) => [t.name.slice(prefix.length), t.read()]));
  trainer.tokenizer.loadStateDict(part("model."));
  trainer.loadStateDict({ step: meta.step, decay: { ...meta.decay, slots: part("decay.") }, noDecay: { ...meta.noDecay, slots: part("nodecay.") } });
  rng().setState(meta.rng);
}

/**
 * Trains a tokenizer; returns it (evaluation mode) with the last step's log.
 * Batches come from one recording at a time (its channel set), drawn from
 * the seeded global stream: seed with `manualSeed` first.
 */
export function pretrainTokenizer(opts: PretrainOptions): { tokenizer: BrainTokenizer; steps: number; last: TokenizerStepLog | null; interrupted: boolean } {
  if (opts.files.length === 0 && opts.simulatedFraction < 1) throw new ConfigError("data", "no recordings to train on (or set simulated: 1)");
  const pools = loadPools(opts.files).filter((p) => p.segments.length > 0);
  if (pools.length === 0 && opts.simulatedFraction < 1) throw new ConfigError("data", "the recordings give no 2-s segment at 256 Hz (too short, or channels without sensor geometry)");
  const tokenizer = new BrainTokenizer(opts.config);
  const trainer = new TokenizerTrainer(tokenizer, { steps: opts.steps, lr: opts.lr, emaInit: "scaled" });
  mkdirSync(opts.out, { recursive: true });
  const statePath = join(opts.out, STATE);
  if (opts.resume && existsSync(statePath)) loadState(statePath, trainer);
  const total = pools.reduce((a, p) => a + p.segments.length, 0);
  let last: TokenizerStepLog | null = null;
  let done = 0;
  try {
    while (trainer.steps < opts.steps) {
      if (opts.maxSteps !== undefined && done >= opts.maxSteps) {
        saveState(statePath, trainer);
        return { tokenizer: tokenizer.eval(), steps: trainer.steps, last, interrupted: true };
      }
      const r = rng();
      let batch: { x: tf.Tensor; pos: tf.Tensor; sensorType: tf.Tensor };
      if (pools.length === 0 || r.uniform() < opts.simulatedFraction) {
        batch = simulatedTensors(simulateBatch(r, { batch: opts.batchSize, channels: 8 + r.int(17), samples: opts.config.windowLength, kind: (["eeg", "meg", "mixed"] as const)[r.int(3)]! }));
      } else {
        // A recording chosen in proportion to its segments, then segments of it.
        let k = r.int(total);
        const pool = pools.find((p) => (k -= p.segments.length) < 0)!;
        const B = Math.min(opts.batchSize, pool.segments.length);
        const order = r.permutation(pool.segments.length).subarray(0, B);
        const C = pool.sensors.nChannels;
        const x = new Float32Array(B * C * pool.T);
        order.forEach((s, i) => x.set(pool.segments[s]!, i * C * pool.T));
        batch = tf.tidy(() => ({
          x: tf.tensor3d(x, [B, C, pool.T]),
          pos: tf.tile(tf.tensor3d(pool.sensors.pos, [1, C, 6]), [B, 1, 1]),
          sensorType: tf.tile(tf.tensor2d(pool.sensors.type, [1, C], "int32"), [B, 1]),
        }));
      }
      try {
        last = trainer.step(batch);
      } finally {
        tf.dispose([batch.x, batch.pos, batch.sensorType]);
      }
      done++;
      opts.onLog?.(last);
      if (trainer.steps % opts.saveEvery === 0) saveState(statePath, trainer);
    }
    saveState(statePath, trainer);
    tokenizer.eval();
    saveCheckpoint(tokenizer, join(opts.out, "tokenizer.safetensors"), {
      description: "BrainTokenizer pretrained by neurocode train",
      training: `${opts.steps} steps, batch ${opts.batchSize}, lr ${opts.lr}, ${opts.files.length} recordings, simulated fraction ${opts.simulatedFraction}`,
    });
    return { tokenizer, steps: trainer.steps, last, interrupted: false };
  } finally {
    trainer.dispose();
  }
}

/** A `neurocode train` configuration file (YAML), validated. */
export interface TrainConfig {
  model: "braintokenizer";
  config: BrainTokenizerConfig;
  include: string[];
  simulated: number;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  saveEvery: number;
}

/**
 * Reads and validates a training configuration: `model` (braintokenizer),
 * `config` (`demo`, `released`, or official snake_case keys), `data.include`
 * (globs), `data.simulated` (0–1), `steps`, `batch`, `lr`, `seed`, `saveEvery`.
 * Errors name the key path.
 */
export function loadTrainConfig(path: string): TrainConfig {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, "utf8"));
  } catch (e) {
    if (e instanceof YAMLParseError) throw new ConfigError(`${path}:${e.linePos?.[0]?.line ?? "?"}`, e.message.split("\n")[0]!);
    throw asFileAccessError(e, path);
  }
  const d = (doc ?? {}) as Record<string, unknown>;
  const known = ["model", "config", "data", "steps", "batch", "lr", "seed", "saveEvery"];
  for (const k of Object.keys(d)) if (!known.includes(k)) throw new ConfigError(k, `unknown key (allowed: ${known.join(", ")})`);
  if ((d.model ?? "braintokenizer") !== "braintokenizer") throw new ConfigError("model", `only "braintokenizer" can be trained from the command line, got ${JSON.stringify(d.model)}`);
  const num = (key: string, v: unknown, def: number, ok: (n: number) => boolean, what: string): number => {
    const n = v === undefined ? def : v;
    if (typeof n !== "number" || !ok(n)) throw new ConfigError(key, `expected ${what}, got ${JSON.stringify(v)}`);
    return n;
  };
  const cfgRaw = d.config ?? "demo";
  let config: BrainTokenizerConfig;
  if (cfgRaw === "demo") config = { ...DEMO_TOKENIZER, ratios: [...DEMO_TOKENIZER.ratios] };
  else if (cfgRaw === "released") config = { ...RELEASED_TOKENIZER, ratios: [...RELEASED_TOKENIZER.ratios] };
  else if (typeof cfgRaw === "object" && cfgRaw !== null) {
    const c = parseOfficialConfig(cfgRaw as Record<string, unknown>, "config");
    if (isOmniConfig(c)) throw new ConfigError("config", "a stage-2 BrainOmni config; give a tokenizer config");
    config = c;
  } else throw new ConfigError("config", `expected "demo", "released" or a mapping of official config keys, got ${JSON.stringify(cfgRaw)}`);
  const data = (d.data ?? {}) as Record<string, unknown>;
  if (typeof data !== "object" || Array.isArray(data)) throw new ConfigError("data", "expected a mapping with include and simulated");
  for (const k of Object.keys(data)) if (!["include", "simulated"].includes(k)) throw new ConfigError(`data.${k}`, "unknown key (allowed: include, simulated)");
  const include = data.include ?? [...RECORDING_GLOBS];
  if (!Array.isArray(include) || include.some((g) => typeof g !== "string")) throw new ConfigError("data.include", "expected a list of glob patterns");
  return {
    model: "braintokenizer",
    config,
    include: include as string[],
    simulated: num("data.simulated", data.simulated, 0, (n) => n >= 0 && n <= 1, "a fraction in [0, 1]"),
    steps: num("steps", d.steps, 300, (n) => Number.isInteger(n) && n > 0, "a positive integer"),
    batch: num("batch", d.batch, 4, (n) => Number.isInteger(n) && n > 0, "a positive integer"),
    lr: num("lr", d.lr, 2e-3, (n) => n > 0 && n < 1, "a learning rate in (0, 1)"),
    seed: num("seed", d.seed, 0, Number.isInteger, "an integer"),
    saveEvery: num("saveEvery", d.saveEvery, 50, (n) => Number.isInteger(n) && n > 0, "a positive integer"),
  };
}
