import type { Command } from "commander";
import { formatOf, readableExtensions, writableExtensions } from "../../io/formats.js";
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
    .action(async (input: string, output: string, opts: ConvertOptions) => {
      // Readers load here, not at start-up; FIF and EDF → .npy stream (no whole recording in memory), the rest goes through a Recording.
      const from = formatOf(input);
      let done: { nChannels: number; nSamples: number; sfreq: number };
      if ((from === "fif" || from === "fif.gz") && formatOf(output) === "npy") {
        const { fifToNpy } = await import("../../io/fif/to-npy.js");
        done = await fifToNpy(input, output, { channels: opts.channels });
      } else if (from === "edf" && formatOf(output) === "npy") {
        const { edfToNpy } = await import("../../io/edf/to-npy.js");
        done = await edfToNpy(input, output, { channels: opts.channels, rate: opts.rate });
      } else {
        const { readRecording, writeRecording } = await import("../../io/open.js");
        const rec = readRecording(input, { channels: opts.channels, rate: opts.rate, sfreq: opts.sfreq });
        writeRecording(output, rec);
        done = { nChannels: rec.channels.length, nSamples: rec.data.shape[1]!, sfreq: rec.sfreq };
      }
      process.stderr.write(`wrote ${output} (${done.nChannels} channels, ${done.nSamples} samples at ${done.sfreq} Hz)\n`);
    });
}
