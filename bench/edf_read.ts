/**
 * Reading a 64-channel, 1-hour, 256 Hz EDF into float32: neurocode's
 * `readEdf` against MNE's `read_raw_edf(preload=True)` on the same file, in
 * the same run. Each neurocode read runs in a fresh Node process so its peak
 * memory (maxRSS growth over the process before the read, and ArrayBuffer
 * bytes) can be measured; MNE runs through /usr/bin/python3.
 *
 *   npx tsx bench/edf_read.ts [--runs 5] [--mne-runs 3] [--hugepages]
 *
 * `--hugepages` runs both readers with GLIBC_TUNABLES=glibc.malloc.hugetlb=1
 * (glibc then asks for transparent huge pages for large allocations), which
 * on this microVM makes first-touch page faults, most of either reader's
 * cost, several times cheaper.
 *
 * The file is generated once with neurocode's writer under bench/data/
 * (gitignored, 118 MB).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openEdf, readEdf } from "../src/io/edf/reader.js";
import { writeEdf } from "../src/io/edf/writer.js";
import { createRecording } from "../src/recording/recording.js";
import { utcTime } from "../src/recording/time.js";
import { arg, median } from "./common.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const FILE = join(HERE, "data", "edf_64ch_1h_256hz.edf");
const NC = 64;
const SFREQ = 256;
const NS = 3600 * SFREQ;


function makeFile(): void {
  if (existsSync(FILE)) return;
  mkdirSync(dirname(FILE), { recursive: true });
  const rows: Float32Array[] = [];
  let x = 12345;
  for (let c = 0; c < NC; c++) {
    const row = new Float32Array(NS);
    for (let k = 0; k < NS; k++) {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      row[k] = 40e-6 * Math.sin((2 * Math.PI * (1 + c * 0.5) * k) / SFREQ) + 10e-6 * ((x >>> 8) / 2 ** 24 - 0.5);
    }
    rows.push(row);
  }
  const rec = createRecording({
    data: rows,
    sfreq: SFREQ,
    channels: rows.map((_, c) => ({ name: `EEG ${c + 1}`, kind: "eeg" as const, unit: "V", origUnit: "uV" })),
    startTime: utcTime(2024, 1, 1, 8, 0, 0),
    annotations: Array.from({ length: 60 }, (_, k) => ({ onset: k * 60 + 0.5, duration: 1, description: `minute ${k}` })),
  });
  writeEdf(FILE, rec);
}

/** A field of /proc/self/status in bytes (VmRSS, VmHWM). */
function procStatus(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  return Number(m![1]) * 1024;
}

/**
 * One read in this process: prints JSON with wall and CPU seconds, the peak
 * RSS growth during the read and the ArrayBuffer growth. The kernel's RSS
 * high-water mark is reset just before the read (clear_refs 5), so start-up
 * (tsx compiling TypeScript) does not count.
 */
function child(): void {
  (globalThis as { gc?: () => void }).gc?.();
  writeFileSync("/proc/self/clear_refs", "5");
  const rss0 = procStatus("VmRSS");
  const ab0 = process.memoryUsage().arrayBuffers;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const rec = readEdf(FILE);
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpuSince(c0);
  const peak = procStatus("VmHWM");
  const ab = process.memoryUsage().arrayBuffers - ab0;
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds, peakRssGrowth: peak - rss0, arrayBuffers: ab, dataBytes: rec.data.data.byteLength }));
}

/**
 * What the read costs besides the first touch of fresh memory (which on a
 * microVM is expensive and which every reader that returns new arrays pays):
 * (a) allocating and touching a float32 array of the data's size, (b)
 * `readRange` decoding the whole file into that already-touched array.
 */
function childParts(): void {
  const f = openEdf(FILE);
  const ns = f.nSamples(0);
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  const buf = new Float32Array(f.dataSignals.length * ns);
  for (let i = 0; i < buf.length; i += 1024) buf[i] = 0;
  const touch = { seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSince(c0) };
  const rows = f.dataSignals.map((_, k) => buf.subarray(k * ns, (k + 1) * ns));
  c0 = process.cpuUsage();
  t0 = performance.now();
  f.readRange(f.dataSignals, 0, ns, rows);
  f.timeline();
  const decode = { seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSince(c0) };
  f.close();
  process.stdout.write(JSON.stringify({ touch, decode }));
}

function cpuSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}


function main(): void {
  makeFile();
  const runs = arg("--runs", 5);
  const mneRuns = arg("--mne-runs", 3);
  const env = process.argv.includes("--hugepages") ? { ...process.env, GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" } : process.env;
  const ours: { seconds: number; cpuSeconds: number; peakRssGrowth: number; arrayBuffers: number; dataBytes: number }[] = [];
  for (let r = 0; r < runs; r++) {
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), "--child"], { encoding: "utf8", env });
    ours.push(JSON.parse(out));
  }
  const parts: { touch: { seconds: number; cpuSeconds: number }; decode: { seconds: number; cpuSeconds: number } }[] = [];
  for (let r = 0; r < runs; r++) {
    parts.push(JSON.parse(execFileSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child-parts"], { encoding: "utf8", env })));
  }
  const py = `
import time, mne
t0, c0 = time.perf_counter(), time.process_time()
raw = mne.io.read_raw_edf(${JSON.stringify(FILE)}, preload=True, verbose="error")
print(time.perf_counter() - t0, time.process_time() - c0)
`;
  const theirs: { seconds: number; cpuSeconds: number }[] = [];
  for (let r = 0; r < mneRuns; r++) {
    const [seconds, cpuSeconds] = execFileSync("/usr/bin/python3", ["-c", py], { encoding: "utf8", env }).trim().split(" ").map(Number);
    theirs.push({ seconds: seconds!, cpuSeconds: cpuSeconds! });
  }
  const t = median(ours.map((o) => o.seconds));
  const m = median(theirs.map((o) => o.seconds));
  const tc = median(ours.map((o) => o.cpuSeconds));
  const mc = median(theirs.map((o) => o.cpuSeconds));
  const data = ours[0]!.dataBytes;
  const peak = Math.max(...ours.map((o) => o.peakRssGrowth));
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`GLIBC_TUNABLES=${env.GLIBC_TUNABLES ?? "(unset)"}`);
  console.log(`file: ${FILE} (${mib(statSync(FILE).size)}; ${NC} ch x ${NS} samples at ${SFREQ} Hz)`);
  console.log(`neurocode readEdf: median wall ${t.toFixed(3)} s, CPU ${tc.toFixed(3)} s over ${runs} runs (wall ${ours.map((o) => o.seconds.toFixed(3)).join(", ")})`);
  console.log(`MNE 1.3 read_raw_edf(preload=True): median wall ${m.toFixed(3)} s, CPU ${mc.toFixed(3)} s over ${mneRuns} runs (wall ${theirs.map((x) => x.seconds.toFixed(3)).join(", ")})`);
  console.log(`speed-up: wall ${(m / t).toFixed(1)}x, CPU ${(mc / tc).toFixed(1)}x`);
  const part = (k: "touch" | "decode", f: "seconds" | "cpuSeconds"): string => median(parts.map((p) => p[k][f])).toFixed(3);
  console.log(`of which: allocating + first touch of ${mib(data)} float32: median wall ${part("touch", "seconds")} s, CPU ${part("touch", "cpuSeconds")} s; decoding into already-touched memory (readRange + annotations): wall ${part("decode", "seconds")} s, CPU ${part("decode", "cpuSeconds")} s`);
  console.log(`float32 data ${mib(data)}; peak RSS growth during the read (worst run) ${mib(peak)} = ${(peak / data).toFixed(3)}x the data; ArrayBuffer growth ${mib(ours[0]!.arrayBuffers)}`);
}

if (process.argv.includes("--child")) child();
else if (process.argv.includes("--child-parts")) childParts();
else main();
