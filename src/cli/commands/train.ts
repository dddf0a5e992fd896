import type { Command } from "commander";
import { join } from "node:path";
import { findInputs } from "../../pipeline/inputs.js";
import { progressBar } from "../progress.js";

interface TrainCliOptions {
  input?: string;
  out: string;
  resume?: boolean;
  logJson?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command("train")
    .argument("<config>", "a training configuration (YAML)")
    .description("pretrain the BrainOmni tokenizer on a folder of recordings (and simulated signals); resumable")
    .option("--input <dir>", "folder of recordings (EDF/BDF/FIF; EEG needs 10-05 labels for positions)")
    .requiredOption("--out <dir>", "folder for tokenizer.safetensors and the resumable train-state.safetensors")
    .option("--resume", "continue an interrupted run from --out")
    .option("--log-json", "one JSON object per step on stdout instead of a progress bar")
    .addHelpText(
      "after",
      `
Configuration (every key optional; defaults shown):
  model: braintokenizer
  config: demo            # demo (small, 1/8 width) | released (the paper's) | {n_filters: 32, n_dim: 256, ...}
  data:
    include: ["**/*.edf", "**/*.bdf", "**/*.fif", "**/*.fif.gz"]
    simulated: 0          # share of steps on simulated EEG/MEG mixtures (1 = simulated only, no --input)
  steps: 300
  batch: 4
  lr: 0.002
  seed: 0
  saveEvery: 50           # steps between saves of the resumable state

Recordings get the official pretraining preprocessing (notch, resample 256 Hz, band-pass
0.1–96 Hz) and 2-s segments; each batch comes from one recording.

Example:
  neurocode train tokenizer.yaml --input recordings/ --out runs/tok1
  neurocode tokenize recording.edf --checkpoint runs/tok1/tokenizer.safetensors --out codes.arrow`,
    )
    .action(async (file: string, opts: TrainCliOptions) => {
      // TensorFlow.js loads only when training runs.
      const [{ initBackend }, { manualSeed }, { loadTrainConfig, pretrainTokenizer }] = await Promise.all([
        import("../../engine/backend.js"),
        import("../../engine/random.js"),
        import("../../train/pretrain.js"),
      ]);
      const cfg = loadTrainConfig(file);
      await initBackend();
      manualSeed(cfg.seed);
      const files = opts.input ? findInputs(opts.input, cfg.include).map((f) => join(opts.input!, f)) : [];
      const bar = progressBar();
      const r = pretrainTokenizer({
        files, config: cfg.config, steps: cfg.steps, batchSize: cfg.batch, lr: cfg.lr, simulatedFraction: cfg.simulated,
        out: opts.out, resume: Boolean(opts.resume), saveEvery: cfg.saveEvery,
        onLog: (log) => {
          if (opts.logJson) process.stdout.write(`${JSON.stringify(log)}\n`);
          else bar.update(log.step, cfg.steps, `loss ${log.loss.toFixed(4)} pcc ${log.pcc.toFixed(3)} usage ${log.codebookUsage.map((u) => u.toFixed(2)).join("/")}`);
        },
      });
      bar.clear();
      process.stderr.write(`trained ${r.steps} steps; wrote ${join(opts.out, "tokenizer.safetensors")}\n`);
    });
}
