import { basename, join } from "node:path";
import { mkdirSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { findInputs } from "../../pipeline/inputs.js";
import type { WindowData } from "../../train/dataset.js";
import type { TrainEvent } from "../../train/loop.js";
import { parseNumber } from "../options.js";
import { progressBar } from "../progress.js";

/** Window files under a folder (outputs of `neurocode run`). */
function windowFiles(dir: string): string[] {
  return findInputs(dir, ["**/*.arrow"]).map((f) => join(dir, f));
}

/** TensorFlow.js and the models load only when a command that needs them runs (start-up of the others stays fast). */
async function trainModules() {
  const [backend, random, dataset, encoders, finetune] = await Promise.all([
    import("../../engine/backend.js"),
    import("../../engine/random.js"),
    import("../../train/dataset.js"),
    import("../../train/encoders.js"),
    import("../../train/finetune.js"),
  ]);
  await backend.initBackend();
  return { ...random, ...dataset, ...encoders, ...finetune };
}

function loadData(m: Awaited<ReturnType<typeof trainModules>>, dir: string, labelsFile: string | undefined, classes?: string[]): WindowData {
  const { loadWindowDataset, readLabelsCsv } = m;
  return loadWindowDataset(windowFiles(dir), { ...(labelsFile ? { labels: readLabelsCsv(labelsFile) } : {}), ...(classes ? { classes } : {}) });
}

interface FinetuneCliOptions {
  checkpoint: string;
  data: string;
  labels?: string;
  out: string;
  epochs: number;
  batch: number;
  lr?: number;
  val: number;
  seed: number;
  patience?: number;
  freeze?: boolean;
  fromScratch?: boolean;
  resume?: boolean;
  logJson?: boolean;
}

export function registerFinetune(program: Command): void {
  program
    .command("finetune")
    .description("fine-tune a pretrained encoder with a classification head on labelled windows (resumable)")
    .requiredOption("--checkpoint <file>", "pretrained encoder checkpoint (safetensors; e.g. models/brainomni-demo/braintokenizer-demo.safetensors)")
    .requiredOption("--data <dir>", "folder of window files written by `neurocode run` (Arrow)")
    .option("--labels <file>", "CSV with file,window,label columns (default: the windows' label column)")
    .requiredOption("--out <dir>", "folder for model.safetensors, report.json and the resumable training state")
    .option("--epochs <n>", "training epochs", parseNumber, 10)
    .option("--batch <n>", "windows per batch", parseNumber, 16)
    .option("--lr <rate>", "peak learning rate (AdamW, warm-up then cosine; default 1e-3, or 0.05 with --freeze)", parseNumber)
    .option("--val <fraction>", "fraction of windows held out for validation", parseNumber, 0.2)
    .option("--seed <n>", "seed of the split, the batch order and the head's initialisation", parseNumber, 0)
    .option("--patience <epochs>", "stop after this many epochs without a better validation score")
    .option("--freeze", "train only the head (linear probing); the encoder stays as pretrained")
    .option("--from-scratch", "same architecture, fresh initialisation (the baseline pretraining should beat)")
    .option("--resume", "continue an interrupted run from --out")
    .option("--log-json", "one JSON object per epoch on stdout instead of a progress bar")
    .addHelpText(
      "after",
      `
Windows come from a pipeline that resamples to the encoder's rate (256 Hz for BrainOmni) and
windows by annotations, e.g. stages: pick eeg → bandpass → resample 256 → window {length: 2,
annotations: {"eyes open": open, "eyes closed": closed}} → write arrow.

Example:
  neurocode run pipelines/labelled-windows.yaml --input data/ --out windows/
  neurocode finetune --checkpoint models/brainomni-demo/braintokenizer-demo.safetensors --data windows/ --out ft/
  neurocode evaluate --checkpoint ft/model.safetensors --data test-windows/`,
    )
    .action(async (opts: FinetuneCliOptions) => {
      const m = await trainModules();
      const { manualSeed, encoderFromCheckpoint, splitDataset, finetuneClassifier, evaluateClassifier, saveClassifier } = m;
      manualSeed(opts.seed);
      const data = loadData(m, opts.data, opts.labels);
      const enc = encoderFromCheckpoint(opts.checkpoint, data.channels, data.sfreq, { pretrained: !opts.fromScratch });
      const T = data.dataset.sampleShape[1]!;
      enc.prepare(data.dataset.x, T);
      const { train, validation } = splitDataset(data.dataset, opts.val, opts.seed);
      mkdirSync(opts.out, { recursive: true });
      const bar = progressBar();
      const onEvent = (e: TrainEvent) => {
        if (opts.logJson) {
          if (e.event !== "batch") process.stdout.write(`${JSON.stringify(e)}\n`);
        } else if (e.event === "batch") bar.update(e.epoch * e.batches + e.batch + 1, opts.epochs * e.batches, `epoch ${e.epoch + 1}/${opts.epochs} loss ${e.loss.toFixed(4)}`);
        else if (e.event === "epoch") {
          bar.clear();
          process.stderr.write(`epoch ${e.log.epoch + 1}: train loss ${e.log.trainLoss.toFixed(4)}, validation balanced accuracy ${e.log.valScore?.toFixed(4)}${e.best ? " (best)" : ""}\n`);
        }
      };
      const { model, result } = finetuneClassifier({
        encoder: enc.encoder, nClasses: data.classes.length, train, validation, freezeEncoder: Boolean(opts.freeze),
        epochs: opts.epochs, batchSize: opts.batch, lr: opts.lr ?? (opts.freeze ? 0.05 : 1e-3), seed: opts.seed, stateDir: opts.out, resume: Boolean(opts.resume), onEvent,
        ...(opts.patience !== undefined ? { patience: Number(opts.patience) } : {}),
      });
      bar.clear();
      const report = { ...evaluateClassifier(model, validation), classes: data.classes, epochs: result.history.length, stoppedEarly: result.stoppedEarly, base: basename(opts.checkpoint), pretrained: !opts.fromScratch, frozenEncoder: Boolean(opts.freeze) };
      saveClassifier(join(opts.out, "model.safetensors"), model, enc, { classes: data.classes, channels: data.channels, sfreq: data.sfreq, windowSamples: T, base: basename(opts.checkpoint) });
      writeFileAtomic(join(opts.out, "report.json"), Buffer.from(`${JSON.stringify(report, null, 2)}\n`));
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });
}

interface EvaluateCliOptions {
  checkpoint: string;
  data: string;
  labels?: string;
}

export function registerEvaluate(program: Command): void {
  program
    .command("evaluate")
    .description("evaluate a fine-tuned classifier on labelled windows: accuracy, balanced accuracy, kappa, weighted F1, AUROC")
    .requiredOption("--checkpoint <file>", "a classifier written by `neurocode finetune` (model.safetensors)")
    .requiredOption("--data <dir>", "folder of window files written by `neurocode run` (Arrow)")
    .option("--labels <file>", "CSV with file,window,label columns (default: the windows' label column)")
    .action(async (opts: EvaluateCliOptions) => {
      const m = await trainModules();
      const { model, encoder, info } = m.loadClassifier(opts.checkpoint);
      const data = loadData(m, opts.data, opts.labels, info.classes);
      if (data.channels.map((c) => c.name).join() !== info.channels.map((c) => c.name).join()) {
        throw new ConfigError("data", `channels differ from the ones the classifier was trained on (${info.channels.map((c) => c.name).join(", ")})`);
      }
      encoder.prepare(data.dataset.x, data.dataset.sampleShape[1]!);
      process.stdout.write(`${JSON.stringify({ ...m.evaluateClassifier(model, data.dataset), classes: info.classes })}\n`);
    });
}
