/**
 * Signal processing on a 64-channel, 1-hour, 256 Hz recording: neurocode
 * against scipy 1.10 and MNE 1.3 on the same float32 data, in one run.
 *
 *   npx tsx bench/signal.ts [--runs 3] [--threads N] [--hugepages]
 *
 * `--hugepages` reruns the whole benchmark (neurocode and the peers) with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1, so large allocations get
 * transparent huge pages and first-touch page faults cost far less.
 *
 * Operations (peer in brackets):
 *   sosfiltfilt  4th-order Butterworth band-pass 1–40 Hz      [scipy.signal.sosfiltfilt]
 *   fir          band-pass 0.1–96 Hz, MNE's default FIR       [mne.filter.filter_data]
 *   notch        50 and 60 Hz, MNE's default FIR notch        [mne.filter.notch_filter]
 *   resample     256 → 200 Hz, MNE's FFT method               [mne.filter.resample]
 *   chain        notch 50/60 → band-pass 0.1–96 → resample 200 → average reference (the last three in place)
 *                                                             [the same MNE calls on a RawArray]
 * Each timing is the median of --runs runs of wall time and of CPU time (all
 * threads of the process: Node's workers, or numpy's). The machine's 2 cores
 * are shared with other work, so wall times are noisy; CPU time shows the
 * work each implementation does. The peers save channels 0 and 63 of their
 * outputs and this script reports neurocode's max error against them,
 * relative to the signal's range. The input is generated once under
 * bench/data/ (gitignored, 236 MB).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readNpy, writeNpy } from "../src/io/npy.js";
import { channelData, createRecording } from "../src/recording/recording.js";
import type { Recording } from "../src/recording/types.js";
import { designFir, filterRecording, kernelCost, notchFilter, resampleRecording, runKernelParallel, setReference, shutdownWorkers } from "../src/signal/index.js";
import { arg, median } from "./common.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const DATA = join(HERE, "data");
const INPUT = join(DATA, "signal_64ch_1h_256hz.npy");
const NC = 64;
const SFREQ = 256;
const NS = 3600 * SFREQ;

const RUNS = arg("--runs", 3);
const THREADS = arg("--threads", 0);

function makeInput(): void {
  if (existsSync(INPUT)) return;
  mkdirSync(DATA, { recursive: true });
  const buf = new Float32Array(NC * NS);
  let s = 987654321;
  for (let c = 0; c < NC; c++) {
    let drift = 0;
    for (let k = 0; k < NS; k++) {
      s = (Math.imul(s, 1103515245) + 12345) | 0;
      const noise = (s >>> 8) / 2 ** 24 - 0.5;
      drift = 0.999 * drift + 2e-7 * noise;
      const t = k / SFREQ;
      buf[c * NS + k] = 30e-6 * Math.sin(2 * Math.PI * (2 + c * 0.4) * t) + 5e-6 * Math.sin(2 * Math.PI * 50 * t + c) + 3e-6 * Math.sin(2 * Math.PI * 60 * t) + 10e-6 * noise + drift;
    }
  }
  writeNpy(INPUT, buf, [NC, NS]);
}

const PEERS = String.raw`
import json, sys, time
import numpy as np, mne
from scipy import signal
mne.set_log_level("error")
inp, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
x = np.load(inp).astype(np.float64)
sf = 256.0
def med(f):
    ts, cs = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time(); r = f()
        ts.append(time.perf_counter() - t0); cs.append(time.process_time() - c0)
    return (float(np.median(ts)), float(np.median(cs))), r
def chain():
    raw = mne.io.RawArray(x.copy(), mne.create_info(x.shape[0], sf, "eeg"), verbose="error")
    raw.notch_filter([50.0, 60.0]); raw.filter(0.1, 96.0); raw.resample(200.0)
    raw.set_eeg_reference("average")
    return raw.get_data()
sos = signal.butter(4, [1.0, 40.0], "bandpass", fs=sf, output="sos")
ops = dict(
    sosfiltfilt=lambda: signal.sosfiltfilt(sos, x),
    fir=lambda: mne.filter.filter_data(x, sf, 0.1, 96.0),
    notch=lambda: mne.filter.notch_filter(x, sf, [50.0, 60.0]),
    resample=lambda: mne.filter.resample(x, 200.0, sf, npad="auto"),
    chain=chain,
)
res = {}
for name, f in ops.items():
    t, r = med(f)
    res[name] = t
    np.save(f"{out}/peer_{name}.npy", r[[0, -1]].astype(np.float64))
print(json.dumps(res))
`;


function timeIt<T>(f: () => T): { seconds: [number, number]; result: T } {
  let result: T | undefined;
  const ts: number[] = [];
  const cs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    result = f();
    const c = process.cpuUsage(c0);
    ts.push((performance.now() - t0) / 1000);
    cs.push((c.user + c.system) / 1e6);
  }
  return { seconds: [median(ts), median(cs)], result: result! };
}

/** Max |neurocode − peer| over channels 0 and 63, relative to the input's range. */
function relError(rec: Recording, peerFile: string, inputRange: number): number {
  const peer = readNpy(peerFile);
  const n = peer.shape[1]!;
  const p = peer.data as Float64Array;
  let e = 0;
  [0, rec.channels.length - 1].forEach((ci, r) => {
    const row = channelData(rec, ci);
    for (let k = 0; k < n; k++) e = Math.max(e, Math.abs(row[k]! - p[r * n + k]!));
  });
  return e / inputRange;
}

if (process.argv.includes("--hugepages") && process.env["GLIBC_TUNABLES"] === undefined) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit", env: { ...process.env, GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" } });
  process.exit(r.status ?? 1);
}

makeInput();
const arr = readNpy(INPUT);
const data = arr.data as Float32Array;
let lo = Infinity;
let hi = -Infinity;
for (const v of data) {
  if (v < lo) lo = v;
  if (v > hi) hi = v;
}
const rec = createRecording({
  data: Array.from({ length: NC }, (_, c) => data.subarray(c * NS, (c + 1) * NS)),
  sfreq: SFREQ,
  channels: Array.from({ length: NC }, (_, c) => ({ name: `EEG${c}`, kind: "eeg" as const, unit: "V", origUnit: "V" })),
});
const par = THREADS > 0 ? { threads: THREADS } : {};

process.stderr.write(`peers (scipy ${execFileSync("/usr/bin/python3", ["-c", "import scipy, mne; print(scipy.__version__, '/ MNE', mne.__version__)"]).toString().trim()}), ${RUNS} runs each...\n`);
const peer = JSON.parse(execFileSync("/usr/bin/python3", ["-c", PEERS, INPUT, DATA, String(RUNS)], { maxBuffer: 1 << 20 }).toString()) as Record<string, [number, number]>;

process.stderr.write("neurocode...\n");
const ours: Record<string, { seconds: [number, number]; result: Recording }> = {
  sosfiltfilt: timeIt(() => filterRecording(rec, 1, 40, { method: "iir", ...par })),
  fir: timeIt(() => filterRecording(rec, 0.1, 96, par)),
  notch: timeIt(() => notchFilter(rec, [50, 60], par)),
  resample: timeIt(() => resampleRecording(rec, 200, par)),
  // Like MNE's Raw methods after RawArray's copy, the chain works in place on its own copy (the notch's output).
  chain: timeIt(() => setReference(resampleRecording(filterRecording(notchFilter(rec, [50, 60], par), 0.1, 96, { ...par, inPlace: true }), 200, { ...par, inPlace: true }), "average", { inPlace: true })),
};

console.log(`\n64 channels x 1 h x 256 Hz (float32), median of ${RUNS} runs, threads: ${THREADS || "all cores"}${process.env["GLIBC_TUNABLES"] ? `, ${process.env["GLIBC_TUNABLES"]}` : ""}`);
console.log("op           wall s: neurocode   peer  speed-up | CPU s: neurocode   peer  ratio | max err / range");
for (const [name, { seconds, result }] of Object.entries(ours)) {
  const err = relError(result, join(DATA, `peer_${name}.npy`), hi - lo);
  const [pw, pc] = peer[name]!;
  const [w, c] = seconds;
  console.log(`${name.padEnd(12)} ${w.toFixed(2).padStart(17)} ${pw.toFixed(2).padStart(6)} ${(pw / w).toFixed(2).padStart(8)}x | ${c.toFixed(2).padStart(16)} ${pc.toFixed(2).padStart(6)} ${(pc / c).toFixed(2).padStart(5)}x | ${err.toExponential(1)}`);
}

// Where worker threads start to pay: a FIR (MNE band-pass 1–40 Hz) on 4 rows of growing length.
console.log("\nthread crossover (FIR 1–40 Hz, 4 rows, median of 9):  samples   work    1 thread ms   2 threads ms");
const h = designFir(SFREQ, 1, 40);
for (const n of [16384, 65536, 262144, 1048576]) {
  const rows = Array.from({ length: 4 }, (_, c) => data.subarray(c * NS, c * NS + n));
  const outs = rows.map(() => new Float32Array(n));
  const ms = [1, 2].map((threads) => {
    runKernelParallel({ op: "fir", h }, rows, outs, { threads, minWork: 0 });
    const ts: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      runKernelParallel({ op: "fir", h }, rows, outs, { threads, minWork: 0 });
      ts.push(performance.now() - t0);
    }
    return median(ts);
  });
  console.log(`${String(n).padStart(60)} ${(4 * n * kernelCost({ op: "fir", h })).toExponential(1).padStart(8)} ${ms[0]!.toFixed(1).padStart(13)} ${ms[1]!.toFixed(1).padStart(14)}`);
}
await shutdownWorkers();
