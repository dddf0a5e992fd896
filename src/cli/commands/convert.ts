import type { Command } from "commander";
import { readRecording, readableExtensions, writableExtensions, writeRecording } from "../../io/open.js";
import { parseList, parseNumber } from "../options.js";

interface ConvertOptions {
  channels?: string[];
  rate?: number;
  sfreq?: number;
}

export function registerConvert(program: Command): void {
  program
    .command("convert")
    .argument("<in>", `input recording (${readableExtensions().join(", ")})`)
    .argument("<out>", `output file; format by extension (${writableExtensions().join(", ")})`)
    .description("convert a recording to another format (written atomically: the output appears only when complete)")
    .option("--channels <names>", "only these channels (comma-separated)", parseList)
    .option("--rate <hz>", "for files with several sampling rates: the signals at this rate", parseNumber)
    .option("--sfreq <hz>", "sampling rate of a .npy input", parseNumber)
    .addHelpText(
      "after",
      `
.npy output is float32 [nChannels, nSamples] in SI units (V, T, T/m): numpy.load reads it.

Examples:
  neurocode convert recording.bdf recording.edf
  neurocode convert recording.edf data.npy --channels Fp1,Fp2,Cz`,
    )
    .action((input: string, output: string, opts: ConvertOptions) => {
      const rec = readRecording(input, { channels: opts.channels, rate: opts.rate, sfreq: opts.sfreq });
      writeRecording(output, rec);
      process.stderr.write(`wrote ${output} (${rec.channels.length} channels, ${rec.data.shape[1]} samples at ${rec.sfreq} Hz)\n`);
    });
}
