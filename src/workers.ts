import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker thread from a module URL next to the caller (see
 * `siblingModule`). Compiled code runs the `.js` file directly; when
 * neurocode runs from its TypeScript sources (tests, `tsx`), the `.ts` file is
 * loaded through tsx's loader API (a dev dependency), so the same code path is
 * exercised in both. Throws when a `.ts` worker is asked for and tsx is not
 * installed.
 */
export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (url.pathname.endsWith(".js")) return new Worker(url, options);
  if (!url.pathname.endsWith(".ts")) throw new Error(`worker must be a .js or .ts module: ${url.href}`);
  const api = join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist", "esm", "api", "index.mjs");
  const code = `import(${JSON.stringify(pathToFileURL(api).href)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}

/** The `.js` or `.ts` sibling of the calling module, whichever form is running. */
export function siblingModule(importMetaUrl: string, basename: string): URL {
  const ext = importMetaUrl.endsWith(".ts") ? ".ts" : ".js";
  return new URL(`./${basename}${ext}`, importMetaUrl);
}
