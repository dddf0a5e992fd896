import type { Command } from "commander";
import { readableExtensions } from "../../io/formats.js";
import type { Recording } from "../../recording/types.js";
import { parseList, parseNumber } from "../options.js";

interface InfoOptions {
  json?: boolean;
  channels?: string[];
  rate?: number;
  sfreq?: number;
}

export function registerInfo(program: Command): void {
  program
    .command("info")
    .argument("<file>", `a recording (${readableExtensions().join(", ")})`)
    .description("print what a recording holds: channels, rate, length, start time, annotations, segments")
    .option("--json", "print one JSON object instead of text")
    .option("--channels <names>", "only these channels (comma-separated)", parseList)
    .option("--rate <hz>", "for files with several sampling rates: the signals at this rate", parseNumber)
    .option("--sfreq <hz>", "sampling rate of a .npy input", parseNumber)
    .addHelpText(
      "after",
      `
Examples:
  neurocode info recording.edf
  neurocode info recording.edf --json | jq .annotations
  neurocode info psg.edf --rate 100      # an EDF whose signals have different rates`,
    )
    .action(async (file: string, opts: InfoOptions) => {
      // Loaded here, not at start-up: every command would pay for every reader.
      const [{ readRecording }, { recordingSummary }, { toIso }] = await Promise.all([
        import("../../io/open.js"),
        import("../../recording/summary.js"),
        import("../../recording/time.js"),
      ]);
      const rec = readRecording(file, { channels: opts.channels, rate: opts.rate, sfreq: opts.sfreq });
      process.stdout.write(opts.json ? `${JSON.stringify(recordingSummary(rec), null, 2)}\n` : describe(rec, rec.startTime ? toIso(rec.startTime) : "unknown"));
    });
}

function describe(rec: Recording, start: string): string {
  const ns = rec.data.shape[1]!;
  const kinds = new Map<string, number>();
  for (const c of rec.channels) kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
  const lines = [
    `${rec.source.path} (${rec.source.format})`,
    `  start        ${start}`,
    `  sfreq        ${rec.sfreq} Hz`,
    `  samples      ${ns} (${(ns / rec.sfreq).toFixed(3)} s)${rec.firstSample ? `, first sample ${rec.firstSample}` : ""}`,
    `  channels     ${rec.channels.length} (${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")})`,
    `               ${rec.channels.slice(0, 12).map((c) => c.name).join(", ")}${rec.channels.length > 12 ? ", ..." : ""}`,
  ];
  if (rec.bads.length) lines.push(`  bads         ${rec.bads.join(", ")}`);
  if (rec.segments.length > 1) {
    lines.push(`  segments     ${rec.segments.length} (discontinuous)`);
    for (const s of rec.segments.slice(0, 10)) lines.push(`    at ${s.onset.toFixed(3)} s: ${s.nSamples} samples`);
  }
  lines.push(`  annotations  ${rec.annotations.length}`);
  for (const a of rec.annotations.slice(0, 10)) {
    lines.push(`    ${a.onset.toFixed(4).padStart(12)} s  ${a.duration === null ? "      -" : `${a.duration.toFixed(3)} s`}  ${a.description}${a.channels ? ` @ ${a.channels.join(",")}` : ""}`);
  }
  if (rec.annotations.length > 10) lines.push(`    ... (${rec.annotations.length - 10} more; --json lists all)`);
  for (const w of rec.source.warnings) lines.push(`  warning      [${w.code}] ${w.message}`);
  return `${lines.join("\n")}\n`;
}
