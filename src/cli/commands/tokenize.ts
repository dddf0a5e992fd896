import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { readableExtensions } from "../../io/formats.js";
import type { TokenizedRecording } from "../../models/brainomni/api.js";
import type { Recording } from "../../recording/types.js";
import { parseNumber } from "../options.js";

interface TokenizeOptions {
  out: string;
  checkpoint?: string;
  window: number;
  batch: number;
  report?: boolean;
  decode?: string;
  sensors?: string;
}

/**
 * EEG channels without positions get the standard 10-05 ones by label; MEG
 * keeps its FIF geometry. EEG/MEG channels still without a position (labels
 * that are not 10-05 names) are left out, with a note on stderr.
 */
async function withGeometry(rec: Recording): Promise<Recording> {
  const [{ attachStandardPositions }, { pick }] = await Promise.all([import("../../sensors/attach.js"), import("../../recording/recording.js")]);
  const placed = rec.channels.some((c) => c.kind === "eeg" && !c.sensor) ? attachStandardPositions(rec) : rec;
  const brain = new Set(["eeg", "meg-mag", "meg-grad"]);
  const missing = placed.channels.filter((c) => brain.has(c.kind) && !c.sensor).map((c) => c.name);
  if (missing.length === 0) return placed;
  process.stderr.write(`${rec.source.path}: ${missing.length} channel(s) without a known position left out (${missing.slice(0, 6).join(", ")}${missing.length > 6 ? ", ..." : ""})\n`);
  const keep = placed.channels.flatMap((c, i) => (brain.has(c.kind) && !c.sensor ? [] : [i]));
  return pick(placed, keep);
}

export function registerTokenize(program: Command): void {
  program
    .command("tokenize")
    .argument("[inputs...]", `recordings (${readableExtensions().join(", ")})`)
    .description("turn EEG/MEG recordings into BrainTokenizer codes (Arrow), or decode codes back to signals")
    .requiredOption("--out <file>", "output: codes.arrow (tokenize) or recon.npy (--decode)")
    .option("--checkpoint <file>", "tokenizer checkpoint (.safetensors; default: the bundled demonstration tokenizer)")
    .option("--window <s>", "segment length in seconds (normalised as one unit; multiples of 2 s give several tokenizer windows)", parseNumber, 2)
    .option("--batch <n>", "segments per forward pass", parseNumber, 8)
    .option("--report", "also reconstruct every window and add its error (recon_l1, recon_pcc)")
    .option("--decode <codes.arrow>", "decode a codes table instead of tokenizing")
    .option("--sensors <file>", "with --decode: the recording whose sensors to reconstruct")
    .addHelpText(
      "after",
      `
Input is preprocessed as the checkpoint expects (BrainOmni pretraining order:
pick EEG+MEG, notch 50+60 Hz, resample 256 Hz, band-pass 0.1-96 Hz), cut into
segments, and normalised per sensor group. EEG positions come from the
standard 10-05 montage when the file has none.

Examples:
  neurocode tokenize rec.fif --out codes.arrow
  neurocode tokenize a.edf b.edf --out codes.arrow --window 4 --report
  neurocode tokenize --decode codes.arrow --sensors rec.fif --out recon.npy`,
    )
    .action(async (inputs: string[], opts: TokenizeOptions) => {
      // TensorFlow.js and the model load only when tokenize runs, not at every CLI start.
      const [
        { initBackend },
        { codesTable, decodeCodes, tokenizeRecording },
        { bundledTokenizerPath, loadTokenizer },
        { hopLength },
        { applyRecipe, BRAINOMNI_SFREQ, PRETRAINING_RECIPE, recordingSensorVectors },
        { readArrow, writeArrow },
        { writeNpy },
        { readRecording },
      ] = await Promise.all([
        import("../../engine/backend.js"),
        import("../../models/brainomni/api.js"),
        import("../../models/brainomni/checkpoint.js"),
        import("../../models/brainomni/config.js"),
        import("../../models/brainomni/preprocess.js"),
        import("../../io/arrow.js"),
        import("../../io/npy.js"),
        import("../../io/open.js"),
      ]);
      await initBackend();
      if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new ConfigError("--batch", `must be a positive integer, got ${opts.batch}`);
      const tok = loadTokenizer(opts.checkpoint ?? bundledTokenizerPath());
      try {
        if (opts.decode) {
          if (!opts.sensors) throw new ConfigError("--sensors", "--decode needs --sensors FILE (the recording whose channels to reconstruct)");
          // Only the channel pick of the recipe matters here: the sensors, not the signal.
          const rec = applyRecipe(await withGeometry(readRecording(opts.sensors)), PRETRAINING_RECIPE.slice(0, 1));
          const { data, shape } = decodeCodes(tok, readArrow(opts.decode), recordingSensorVectors(rec));
          writeNpy(opts.out, data, shape);
          process.stderr.write(`wrote ${opts.out}: ${shape.join(" x ")} (windows x channels x samples, z-scored per window)\n`);
          return;
        }
        if (inputs.length === 0) throw new ConfigError("inputs", "give at least one recording (or --decode)");
        const results: { file: string; result: TokenizedRecording }[] = [];
        for (const file of inputs) {
          const rec = await withGeometry(readRecording(file));
          const result = tokenizeRecording(tok, rec, { segmentSeconds: opts.window, batchSize: opts.batch, report: opts.report ?? false });
          process.stderr.write(`${file}: ${result.segments.length} windows x ${result.channelNames.length} channels\n`);
          results.push({ file, result });
        }
        const table = codesTable(results, { model: "braintokenizer", window_seconds: String(opts.window), frame_seconds: String(hopLength(tok.cfg) / BRAINOMNI_SFREQ) });
        writeArrow(opts.out, table);
        process.stderr.write(`wrote ${opts.out}: ${table.numRows} rows\n`);
      } finally {
        tok.dispose();
      }
    });
}

