import type { FileProgress } from "./process.js";
import type { Pipeline } from "./schema.js";

/** A file for a worker to process. */
export interface JobMessage {
  id: number;
  pipeline: Pipeline;
  inputPath: string;
  relName: string;
  outputPath: string;
}

/** What a worker says back. */
export type WorkerReply =
  | { type: "ready" }
  | { type: "progress"; id: number; progress: FileProgress }
  | { type: "done"; id: number; windows: number }
  | { type: "error"; id: number; reason: string };
