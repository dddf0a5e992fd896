import type { Command } from "commander";
import type { RunEvent } from "../../pipeline/runner.js";
import { progressBar } from "../progress.js";
import { parseNumber } from "../options.js";

interface RunCliOptions {
  input: string;
  out: string;
  workers?: number;
  logJson?: boolean;
  force?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .argument("<pipeline>", "a pipeline YAML file (see pipelines/)")
    .description("run a declarative pipeline over a folder of recordings: one output per input file, resumable")
    .requiredOption("--input <dir>", "folder of input recordings (searched recursively, e.g. a BIDS dataset)")
    .requiredOption("--out <dir>", "folder for outputs (created if missing)")
    .option("--workers <n>", "worker threads (default: number of cores)", parseNumber)
    .option("--log-json", "print one JSON object per event on stdout instead of progress bars")
    .option("--force", "redo files even when a previous run completed them")
    .addHelpText(
      "after",
      `
Each input file gives one output (Arrow IPC or .npy, per the pipeline's write stage) at the same
relative path under --out. Outputs appear only when complete; a run that is interrupted (Ctrl-C,
kill) and started again with the same command skips finished files and redoes the rest. A file
that cannot be read is reported and skipped; the run then exits with status 1.

Example:
  neurocode run pipelines/windows.yaml --input data/ --out windows/
  python -c "import pyarrow as pa; print(pa.ipc.open_file('windows/sub-01.arrow').read_pandas())"`,
    )
    .action(async (file: string, opts: RunCliOptions) => {
      // Loaded here, not at start-up: the pipeline pulls in YAML, Arrow and every reader.
      const [{ loadPipeline }, { runPipeline }] = await Promise.all([import("../../pipeline/schema.js"), import("../../pipeline/runner.js")]);
      const pipeline = loadPipeline(file);
      const bar = progressBar();
      let files = 0;
      let finished = 0;
      const log = (e: RunEvent) => {
        if (opts.logJson) {
          process.stdout.write(`${JSON.stringify(e)}\n`);
          return;
        }
        if (e.event === "start") files = e.files;
        if (e.event === "skip" || e.event === "done" || e.event === "error") finished++;
        if (e.event === "error") {
          bar.clear();
          process.stderr.write(`neurocode: failed: ${e.file}: ${e.reason}\n`);
        }
        if (e.event === "progress") bar.update(finished, files, `${e.file}: ${e.stage}${e.windowsTotal ? ` (${e.windowsTotal} windows)` : ""}`);
        else if (e.event !== "summary") bar.update(finished, files, "file" in e ? e.file : "");
      };
      const summary = await runPipeline(pipeline, { input: opts.input, out: opts.out, ...(opts.workers ? { workers: opts.workers } : {}), force: Boolean(opts.force), onEvent: log });
      bar.clear();
      if (!opts.logJson) {
        process.stderr.write(
          `${summary.done} done, ${summary.skipped} already complete, ${summary.failed.length} failed; ${summary.windows} windows in ${opts.out}\n`,
        );
      }
      if (summary.failed.length > 0) process.exitCode = 1;
    });
}
