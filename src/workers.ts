import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker thread from a module URL next to the caller
 * (`new URL("./worker.js", import.meta.url)`). Compiled code runs the `.js`
 * file directly; when neurocode runs from its TypeScript sources (tests,
 * `tsx`), the `.ts` sibling is loaded through tsx's loader, so the same code
 * path is exercised in both.
 */
export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (!url.pathname.endsWith(".ts") && !url.pathname.endsWith(".js")) throw new Error(`worker must be a .js or .ts module: ${url.href}`);
  if (url.pathname.endsWith(".js")) return new Worker(url, options);
  const api = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}

/** The `.js` or `.ts` sibling of the calling module, whichever form is running. */
export function siblingModule(importMetaUrl: string, basename: string): URL {
  const ext = importMetaUrl.endsWith(".ts") ? ".ts" : ".js";
  return new URL(`./${basename}${ext}`, importMetaUrl);
}
