import type { Command } from "commander";
import type * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError } from "../../errors.js";
import { parseList, parseNumber } from "../options.js";

interface RecordOptions {
  checkpoint: string;
  record: string[];
  out: string;
  full?: boolean;
  byteBudget?: number;
  topK?: number;
  phase?: string;
  streamRows?: number;
}

interface ReportOptions {
  svg?: string;
  layers?: string[];
  alpha?: number;
  json?: boolean;
}

/** An input array as the model's [B, T, C] float32 tensor (a [T, C] file is one batch item). */
async function readInput(path: string): Promise<tf.Tensor> {
  const [{ readNpy }, tfjs] = await Promise.all([import("../../io/npy.js"), import("@tensorflow/tfjs")]);
  const a = readNpy(path);
  if (a.shape.length !== 2 && a.shape.length !== 3) throw new ShapeError(`${path}`, ["B?", "T", "C"], a.shape);
  const shape = a.shape.length === 2 ? [1, ...a.shape] : a.shape;
  return tfjs.tensor(Float32Array.from(a.data as ArrayLike<number>), shape, "float32");
}

/**
 * `neurocode inspect`: record activations of a checkpointed model, and `inspect
 * report` to summarise them. The TensorFlow.js-based modules load inside the
 * actions so other commands do not pay for them at start-up.
 */
export function registerInspect(program: Command): void {
  const cmd = program
    .command("inspect")
    .description("record what a model's modules compute (statistics or tensors → Arrow) and report on it")
    .argument("[inputs...]", ".npy model inputs, [T, C] or [B, T, C]; each file is one forward pass")
    .option("--checkpoint <file>", "a safetensors checkpoint written by neurocode's saveCheckpoint (metadata names the model)")
    .option("--record <patterns>", "module names to record: globs (blocks.*, **.attn) or /regex/, comma-separated", parseList)
    .option("--out <file>", "the Arrow IPC file to write", "activations.arrow")
    .option("--full", "keep full tensors too, not only summary statistics")
    .option("--byte-budget <bytes>", "most bytes of full tensors to keep (default 64 MiB)", parseNumber)
    .option("--top-k <k>", "largest-|x| features kept per row (default 4)", parseNumber)
    .option("--phase <label>", "label stored with every row (e.g. prompt)")
    .option("--stream-rows <n>", "stream: --out is a directory of part-NNNNN.arrow files of about n rows each", parseNumber)
    .addHelpText(
      "after",
      `
Examples:
  neurocode inspect --checkpoint tour.safetensors x1.npy x2.npy --record 'blocks.*,blocks.*.linear1' --out acts.arrow
  neurocode inspect report acts.arrow --svg layers.svg`,
    )
    .action(async (inputs: string[], opts: RecordOptions) => {
      if (!opts.checkpoint || !opts.record || inputs.length === 0) {
        throw new ConfigError("inspect", "needs --checkpoint, --record and at least one input (or use `inspect report`)");
      }
      const [{ initBackend }, { loadModelCheckpoint }, { ActivationRecorder }, tfjs] = await Promise.all([
        import("../../engine/backend.js"),
        import("../../inspect/checkpoint.js"),
        import("../../inspect/recorder.js"),
        import("@tensorflow/tfjs"),
      ]);
      await initBackend();
      const { model, name } = loadModelCheckpoint(opts.checkpoint);
      try {
        const rec = new ActivationRecorder(model, {
          record: opts.record,
          fullTensors: opts.full,
          byteBudget: opts.byteBudget,
          topK: opts.topK,
          streamTo: opts.streamRows === undefined ? undefined : opts.out,
          flushRows: opts.streamRows,
          meta: { model: name, checkpoint: opts.checkpoint, inputs: JSON.stringify(inputs) },
        });
        rec.phase = opts.phase ?? "";
        for (const path of inputs) {
          const x = await readInput(path);
          try {
            tfjs.tidy(() => model.call(x));
          } finally {
            x.dispose();
          }
        }
        if (opts.streamRows === undefined) {
          rec.detach();
          rec.write(opts.out);
        } else rec.close();
        process.stderr.write(`wrote ${opts.out}: ${rec.modules.length} modules over ${inputs.length} inputs\n`);
      } finally {
        model.dispose();
      }
    });
  cmd
    .command("report")
    .argument("<activations>", "an Arrow file (or streamed directory) written by `neurocode inspect`")
    .description("print a per-module summary (norms, sparsity, contribution, LAC voids, massive activations) and plot it")
    .option("--svg <file>", "write a per-layer bar chart (SVG)")
    .option("--layers <patterns>", "residual layers for LAC voids (default: same-shaped modules not nested in another)", parseList)
    .option("--alpha <a>", "LAC threshold factor", parseNumber, 0.8)
    .option("--json", "print JSON instead of text")
    .action(async (file: string, opts: ReportOptions) => {
      const [{ readActivations }, { nameMatcher }, { moduleOrder }, { formatSummary, summarizeActivations, summarySvg }, { writeFileAtomic }] = await Promise.all([
        import("../../inspect/arrow.js"),
        import("../../inspect/patterns.js"),
        import("../../inspect/records.js"),
        import("../../inspect/report.js"),
        import("../../io/atomic.js"),
      ]);
      const t = readActivations(file);
      const layers = opts.layers ? moduleOrder(t).filter(nameMatcher(opts.layers)) : undefined;
      const summary = summarizeActivations(t, { layers, alpha: opts.alpha });
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
      if (opts.svg) {
        writeFileAtomic(opts.svg, new TextEncoder().encode(summarySvg(summary, file.split(/[\\/]/).pop())));
        process.stderr.write(`wrote ${opts.svg}\n`);
      }
    });
}
