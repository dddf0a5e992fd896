/**
 * Runs a pipeline over every matching file of an input folder, one output per
 * input, in parallel worker threads. Resumable: a manifest in the output
 * folder records each completed output with the pipeline's hash and the
 * input's size, and outputs only appear when complete (temp file + rename),
 * so an interrupted run restarted with the same command redoes exactly what
 * was not finished.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import type { Worker } from "node:worker_threads";
import { ConfigError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { siblingModule, startWorker } from "../workers.js";
import { findInputs } from "./inputs.js";
import type { JobMessage, WorkerReply } from "./messages.js";
import { pipelineHash, type FileProgress } from "./process.js";
import type { Pipeline } from "./schema.js";

/** Events a run emits (for progress bars, JSON logs and tests). */
export type RunEvent =
  | { event: "start"; pipeline: string; files: number; workers: number }
  | { event: "skip"; file: string; output: string; reason: "complete" }
  | { event: "file-start"; file: string }
  | { event: "progress"; file: string; stage: string; windowsDone?: number; windowsTotal?: number }
  | { event: "done"; file: string; output: string; windows: number }
  | { event: "error"; file: string; reason: string }
  | { event: "summary"; done: number; skipped: number; failed: number; windows: number };

export interface RunOptions {
  /** Folder of input recordings. */
  input: string;
  /** Folder for outputs (created if missing). */
  out: string;
  /** Worker threads (default: the number of cores, at most the number of files). */
  workers?: number;
  /** Redo files even when the manifest says they are complete. */
  force?: boolean;
  onEvent?: (e: RunEvent) => void;
}

export interface RunSummary {
  done: number;
  skipped: number;
  failed: { file: string; reason: string }[];
  windows: number;
}

const MANIFEST = ".neurocode-run.json";

interface ManifestEntry {
  output: string;
  pipelineHash: string;
  inputBytes: number;
  windows: number;
}

function outputName(rel: string, format: "arrow" | "npy"): string {
  const stem = rel.replace(/\.(edf|bdf|fif|fif\.gz|npy)$/i, "");
  return `${stem}.${format}`;
}

/** Removes temporaries left by a killed run (`.<name>.<pid>.<hex>.tmp` of a dead process). */
function removeStaleTemporaries(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      removeStaleTemporaries(full);
      continue;
    }
    const m = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(e.name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid !== process.pid;
    try {
      if (alive) process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive || pid === process.pid) unlinkSync(full);
  }
}

function readManifest(out: string): Record<string, ManifestEntry> {
  const p = join(out, MANIFEST);
  if (!existsSync(p)) return {};
  try {
    return JSON.parse(readFileSync(p, "utf8")) as Record<string, ManifestEntry>;
  } catch {
    return {}; // a manifest we cannot read only costs recomputation
  }
}

/** Runs `pipeline` over `opts.input`; resolves when every file is done or failed. */
export async function runPipeline(pipeline: Pipeline, opts: RunOptions): Promise<RunSummary> {
  const emit = opts.onEvent ?? (() => {});
  const write = pipeline.stages[pipeline.stages.length - 1]!;
  const format = write.kind === "write" ? write.format : "arrow";
  const files = findInputs(opts.input, pipeline.read.include, pipeline.read.exclude);
  if (files.length === 0) throw new ConfigError("--input", `no files in "${opts.input}" match ${pipeline.read.include.join(", ")}`);
  mkdirSync(opts.out, { recursive: true });
  removeStaleTemporaries(opts.out);
  const hash = pipelineHash(pipeline);
  const manifest = readManifest(opts.out);
  const summary: RunSummary = { done: 0, skipped: 0, failed: [], windows: 0 };

  const todo: JobMessage[] = [];
  const skipped: { file: string; output: string }[] = [];
  for (const rel of files) {
    const inputPath = join(opts.input, rel);
    const output = outputName(rel, format);
    const outputPath = join(opts.out, output);
    const m = manifest[rel];
    if (!opts.force && m && m.pipelineHash === hash && m.inputBytes === statSync(inputPath).size && m.output === output && existsSync(outputPath)) {
      summary.skipped++;
      summary.windows += m.windows;
      skipped.push({ file: rel, output });
      continue;
    }
    delete manifest[rel];
    mkdirSync(dirname(outputPath), { recursive: true });
    todo.push({ id: todo.length, pipeline, inputPath, relName: rel, outputPath });
  }
  const nWorkers = Math.max(1, Math.min(opts.workers ?? availableParallelism(), todo.length || 1));
  emit({ event: "start", pipeline: pipeline.name, files: files.length, workers: nWorkers });
  for (const k of skipped) emit({ event: "skip", ...k, reason: "complete" });

  // Sorted keys: the manifest does not depend on which worker finished first.
  const saveManifest = () => {
    const sorted = Object.fromEntries(Object.keys(manifest).sort().map((k) => [k, manifest[k]]));
    writeFileAtomic(join(opts.out, MANIFEST), Buffer.from(`${JSON.stringify(sorted, null, 1)}\n`));
  };
  if (todo.length > 0) {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let running = 0;
      const workers: Worker[] = [];
      const assign = (w: Worker) => {
        if (next >= todo.length) {
          void w.terminate();
          if (running === 0) resolve();
          return;
        }
        const job = todo[next++]!;
        running++;
        emit({ event: "file-start", file: job.relName });
        w.postMessage(job);
      };
      const finish = (w: Worker) => {
        running--;
        if (next >= todo.length && running === 0) {
          for (const x of workers) void x.terminate();
          resolve();
        } else assign(w);
      };
      for (let i = 0; i < nWorkers; i++) {
        const w = startWorker(siblingModule(import.meta.url, "worker"));
        workers.push(w);
        w.on("message", (m: WorkerReply) => {
          if (m.type === "ready") return assign(w);
          const job = todo[m.id]!;
          if (m.type === "progress") {
            const p: FileProgress = m.progress;
            emit({ event: "progress", file: job.relName, ...p });
          } else if (m.type === "done") {
            const output = outputName(job.relName, format);
            manifest[job.relName] = { output, pipelineHash: hash, inputBytes: statSync(job.inputPath).size, windows: m.windows };
            saveManifest();
            summary.done++;
            summary.windows += m.windows;
            emit({ event: "done", file: job.relName, output, windows: m.windows });
            finish(w);
          } else {
            summary.failed.push({ file: job.relName, reason: m.reason });
            emit({ event: "error", file: job.relName, reason: m.reason });
            finish(w);
          }
        });
        w.on("error", (e) => reject(e));
      }
    });
  }
  saveManifest();
  emit({ event: "summary", done: summary.done, skipped: summary.skipped, failed: summary.failed.length, windows: summary.windows });
  return summary;
}
