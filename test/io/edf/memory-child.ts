// Child process of memory.test.ts: reads one EDF file after a full GC and
// reports how much resident memory and ArrayBuffer memory the read added.
// Run as: node --expose-gc --import tsx test/io/edf/memory-child.ts FILE
import { readFileSync, writeFileSync } from "node:fs";
import { readEdf } from "../../../src/io/edf/reader.js";

function procStatus(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  if (!m) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]) * 1024;
}

const path = process.argv[2]!;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");
gc();
// Reset the kernel's resident high-water mark so only the read counts.
writeFileSync("/proc/self/clear_refs", "5");
const rss0 = procStatus("VmRSS");
const ab0 = process.memoryUsage().arrayBuffers;
const rec = readEdf(path, { onWarning: () => {} });
const peakRssGrowth = procStatus("VmHWM") - rss0;
const arrayBufferGrowth = process.memoryUsage().arrayBuffers - ab0;
process.stdout.write(JSON.stringify({ dataBytes: rec.data.data.byteLength, peakRssGrowth, arrayBufferGrowth }));
