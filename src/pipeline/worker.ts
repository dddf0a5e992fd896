/** Worker-thread entry: runs `processFile` for each job the runner posts. */
import { parentPort } from "node:worker_threads";
import { NeurocodeError } from "../errors.js";
import { processFile } from "./process.js";
import type { JobMessage, WorkerReply } from "./messages.js";

const port = parentPort;
if (!port) throw new Error("pipeline/worker must run in a worker thread");
port.on("message", async (job: JobMessage) => {
  const reply = (m: WorkerReply) => port.postMessage(m);
  try {
    const r = await processFile(job.pipeline, job.inputPath, job.relName, job.outputPath, (p) => reply({ type: "progress", id: job.id, progress: p }));
    reply({ type: "done", id: job.id, windows: r.windows });
  } catch (e) {
    // User-caused errors carry their message; anything else is reported with its stack.
    const reason = e instanceof NeurocodeError ? `${e.name}: ${e.message}` : e instanceof Error ? `internal error: ${e.stack ?? e.message}` : String(e);
    reply({ type: "error", id: job.id, reason });
  }
});
port.postMessage({ type: "ready" } satisfies WorkerReply);
