/**
 * A resumable training loop: epochs of seeded mini-batches, validation after
 * each epoch, early stopping, and a state file that lets an interrupted run
 * continue to exactly the weights an uninterrupted one reaches (model,
 * optimiser slots, schedule step, random stream and data position are saved).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { rng, type RngState } from "../engine/random.js";
import { ConfigError, ValueError } from "../errors.js";
import type { AnyModule, HostTensor } from "../nn/module.js";
import type { Adam, OptimizerState, SGD } from "../nn/optim.js";
import { clipGradNorm } from "../nn/optim.js";
import { readSafetensors, writeSafetensors } from "../nn/safetensors.js";
import { epochBatches, takeSamples, type ArrayDataset } from "./dataset.js";

/** Per-epoch record kept in the history and the state file. */
export interface EpochLog {
  epoch: number;
  trainLoss: number;
  /** Validation score (higher is better), when a validation set is given. */
  valScore?: number;
  lr: number;
}

/** What the loop reports while it runs (for progress bars and logs). */
export type TrainEvent =
  | { event: "resume"; epoch: number; batch: number; step: number }
  | { event: "batch"; epoch: number; batch: number; batches: number; loss: number; step: number }
  | { event: "epoch"; log: EpochLog; best: boolean }
  | { event: "early-stop"; epoch: number; bestEpoch: number };

export interface FitOptions {
  model: AnyModule;
  optimizer: Adam | SGD;
  /** Mean loss of a batch (`x`: `[batch, ...sampleShape]`; `y`: int32 or float32 `[batch]`). */
  loss: (x: tf.Tensor, y: tf.Tensor) => tf.Scalar;
  train: ArrayDataset;
  validation?: ArrayDataset;
  /** Validation score, higher is better (default: minus the mean validation loss). */
  score?: (model: AnyModule, validation: ArrayDataset) => number;
  epochs: number;
  batchSize: number;
  /** Seed of the batch order (the global random stream drives dropout). */
  seed?: number;
  /** Learning rate for a 0-based step (overrides the optimiser's `lr` every step). */
  schedule?: (step: number) => number;
  /** Clip gradients to this global L2 norm. */
  clipNorm?: number;
  /** Stop when the validation score has not improved for this many epochs. */
  patience?: number;
  /** Folder for `train-state.safetensors` (saved every `saveEvery` steps and after each epoch). */
  stateDir?: string;
  /** Continue from the state in `stateDir` if there is one. */
  resume?: boolean;
  /** Steps between state saves (default: only at epoch ends). */
  saveEvery?: number;
  /** Stop (as if interrupted) after this many steps in this call: for tests and time budgets. */
  maxSteps?: number;
  onEvent?: (e: TrainEvent) => void;
}

export interface FitResult {
  history: EpochLog[];
  /** Epoch (0-based) with the best validation score, or the last epoch. */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** True when `maxSteps` ended the call before the last epoch. */
  interrupted: boolean;
  steps: number;
}

interface LoopState {
  epoch: number;
  batch: number;
  step: number;
  best: number | null;
  bestEpoch: number;
  badEpochs: number;
  epochLossSum: number;
  epochBatches: number;
  history: EpochLog[];
  rng: RngState;
  optimizer: { stepCount: number; lr: number };
}

const STATE_FILE = "train-state.safetensors";

function paramNames(model: AnyModule): Map<tf.Variable, string> {
  return new Map(model.namedParameters().map(([n, p]) => [p, n]));
}

function saveState(dir: string, model: AnyModule, optimizer: Adam | SGD, state: LoopState): void {
  const opt = optimizer.stateDict(paramNames(model));
  const tensors = new Map<string, tf.Tensor | HostTensor>();
  for (const [n, t] of model.stateDict()) tensors.set(`model.${n}`, t);
  for (const [n, t] of opt.slots) tensors.set(`optimizer.${n}`, t);
  const loop: LoopState = { ...state, rng: rng().getState(), optimizer: { stepCount: opt.stepCount, lr: opt.lr } };
  writeSafetensors(join(dir, STATE_FILE), tensors, { loop: JSON.stringify(loop) });
}

function loadState(dir: string, model: AnyModule, optimizer: Adam | SGD): LoopState {
  const file = readSafetensors(join(dir, STATE_FILE));
  const loop = JSON.parse(file.metadata.loop ?? "null") as LoopState | null;
  if (!loop) throw new ConfigError("resume", `${join(dir, STATE_FILE)} holds no training-loop state`);
  const modelSd = new Map<string, HostTensor>();
  const slots = new Map<string, HostTensor>();
  for (const t of file.tensors) {
    if (t.name.startsWith("model.")) modelSd.set(t.name.slice(6), t.read());
    else if (t.name.startsWith("optimizer.")) slots.set(t.name.slice(10), t.read());
  }
  model.loadStateDict(modelSd);
  const opt: OptimizerState = { ...loop.optimizer, slots };
  optimizer.loadStateDict(opt, paramNames(model));
  rng().setState(loop.rng);
  return loop;
}

/** Mean loss over a dataset in evaluation mode (batches of `batchSize`). */
export function meanLoss(model: AnyModule, ds: ArrayDataset, loss: FitOptions["loss"], batchSize: number): number {
  const wasTraining = model.training;
  model.eval();
  let sum = 0;
  try {
    for (const idx of epochBatches(ds.length, batchSize, 0, 0, false)) {
      const { x, y } = takeSamples(ds, idx);
      sum += tf.tidy(() => loss(tf.tensor(x, [idx.length, ...ds.sampleShape]), tf.tensor(y, [idx.length], y instanceof Int32Array ? "int32" : "float32")).dataSync()[0]!) * idx.length;
    }
  } finally {
    if (wasTraining) model.train();
  }
  return sum / ds.length;
}

/** Trains `model` (see `FitOptions`); resolves with the history. */
export function fit(opts: FitOptions): FitResult {
  const { model, optimizer, train } = opts;
  if (!(opts.epochs >= 1) || !Number.isInteger(opts.epochs)) throw new ConfigError("epochs", `must be a positive integer, got ${opts.epochs}`);
  if (train.length === 0) throw new ValueError("the training set is empty");
  const seed = opts.seed ?? 0;
  const score = opts.score ?? ((m: AnyModule, v: ArrayDataset) => -meanLoss(m, v, opts.loss, opts.batchSize));
  let state: LoopState = {
    epoch: 0, batch: 0, step: 0, best: null, bestEpoch: 0, badEpochs: 0, epochLossSum: 0, epochBatches: 0, history: [],
    rng: rng().getState(), optimizer: { stepCount: 0, lr: optimizer.lr },
  };
  if (opts.stateDir) mkdirSync(opts.stateDir, { recursive: true });
  if (opts.resume && opts.stateDir && existsSync(join(opts.stateDir, STATE_FILE))) {
    state = loadState(opts.stateDir, model, optimizer);
    opts.onEvent?.({ event: "resume", epoch: state.epoch, batch: state.batch, step: state.step });
  }
  const save = () => opts.stateDir && saveState(opts.stateDir, model, optimizer, state);
  const params = model.trainableParameters();
  let stepsThisCall = 0;
  let stoppedEarly = false;
  model.train();
  while (state.epoch < opts.epochs && !stoppedEarly) {
    const batches = epochBatches(train.length, opts.batchSize, state.epoch, seed);
    for (; state.batch < batches.length; state.batch++) {
      if (opts.maxSteps !== undefined && stepsThisCall >= opts.maxSteps) {
        save();
        return { history: state.history, bestEpoch: state.bestEpoch, stoppedEarly: false, interrupted: true, steps: state.step };
      }
      const idx = batches[state.batch]!;
      const { x, y } = takeSamples(train, idx);
      if (opts.schedule) optimizer.lr = opts.schedule(state.step);
      const { value, grads } = tf.variableGrads(
        () => opts.loss(tf.tensor(x, [idx.length, ...train.sampleShape]), tf.tensor(y, [idx.length], y instanceof Int32Array ? "int32" : "float32")),
        params,
      );
      let loss: number;
      try {
        loss = value.dataSync()[0]!;
        if (!Number.isFinite(loss)) throw new ValueError(`loss is ${loss} at epoch ${state.epoch}, batch ${state.batch} (lower the learning rate or check the inputs for NaN)`);
        if (opts.clipNorm !== undefined) clipGradNorm(grads, opts.clipNorm);
        optimizer.step(grads);
      } finally {
        tf.dispose([value, ...Object.values(grads)]);
      }
      state.step++;
      stepsThisCall++;
      state.epochLossSum += loss;
      state.epochBatches++;
      opts.onEvent?.({ event: "batch", epoch: state.epoch, batch: state.batch, batches: batches.length, loss, step: state.step });
      if (opts.saveEvery && state.step % opts.saveEvery === 0) {
        state.batch++;
        save();
        state.batch--;
      }
    }
    const log: EpochLog = { epoch: state.epoch, trainLoss: state.epochLossSum / Math.max(1, state.epochBatches), lr: optimizer.lr };
    let best = false;
    if (opts.validation) {
      log.valScore = score(model, opts.validation);
      model.train();
      if (state.best === null || log.valScore > state.best) {
        state.best = log.valScore;
        state.bestEpoch = state.epoch;
        state.badEpochs = 0;
        best = true;
      } else state.badEpochs++;
    } else state.bestEpoch = state.epoch;
    state.history.push(log);
    opts.onEvent?.({ event: "epoch", log, best });
    if (opts.patience !== undefined && state.badEpochs >= opts.patience) {
      stoppedEarly = true;
      opts.onEvent?.({ event: "early-stop", epoch: state.epoch, bestEpoch: state.bestEpoch });
    }
    state = { ...state, epoch: state.epoch + 1, batch: 0, epochLossSum: 0, epochBatches: 0 };
    save();
  }
  model.eval();
  return { history: state.history, bestEpoch: state.bestEpoch, stoppedEarly, interrupted: false, steps: state.step };
}
