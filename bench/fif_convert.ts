/**
 * FIF → .npy: `neurocode convert` (a whole node process) against MNE's
 * `read_raw_fif(preload=True)` + `numpy.save` (timed inside Python), and `cp`
 * of the same file, on a 376-channel, 2-minute Neuromag-geometry raw FIF
 * (~110 MB of float32 buffers) generated with MNE from neuromag_raw.fif's info.
 *
 *   npm run build && npx tsx bench/fif_convert.ts [repeats=5]
 *
 * Prints each run and the medians. The machine is shared (2 cores), so
 * timings are noisy: compare medians from one run of this script.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const DATA = join(ROOT, "bench", "data");
const INPUT = join(DATA, "neuromag_2min_raw.fif");
const SOURCE = resolve(ROOT, "..", "shared", "data", "generated", "neuromag_raw.fif");
const PYTHON = "/usr/bin/python3";
const OUT = join(DATA, "fif_convert_out.npy");
const repeats = Number(process.argv[2] ?? 5);

const GENERATE = `
import sys, mne, numpy as np
info = mne.io.read_info(sys.argv[1], verbose=False)
n = int(round(120 * info["sfreq"]))
rng = np.random.default_rng(0)
scale = {"grad": 5e-11, "mag": 1e-12, "eeg": 2e-5, "eog": 1e-4, "stim": 0.0}
t = np.arange(n) / info["sfreq"]
data = np.empty((info["nchan"], n))
for kind, idx in mne.io.pick.channel_indices_by_type(info).items():
    if len(idx):
        data[idx] = scale.get(kind, 1e-6) * (rng.standard_normal((len(idx), n)) + np.sin(2 * np.pi * 10 * t))
mne.io.RawArray(data, info, verbose=False).save(sys.argv[2], overwrite=True, verbose=False)
`;

const MNE = `
import sys, time, mne, numpy as np
t0 = time.perf_counter()
raw = mne.io.read_raw_fif(sys.argv[1], preload=True, verbose=False)
np.save(sys.argv[2], raw.get_data().astype(np.float32))
print(time.perf_counter() - t0)
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function timeProcess(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  const dt = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return dt;
}

mkdirSync(DATA, { recursive: true });
if (!existsSync(INPUT)) {
  console.log(`generating ${INPUT} with MNE ...`);
  execFileSync(PYTHON, ["-c", GENERATE, SOURCE, INPUT], { stdio: "inherit" });
}
const cli = join(ROOT, "dist", "cli", "main.js");
if (!existsSync(cli)) throw new Error("dist/cli/main.js missing: run npm run build first");
console.log(`input ${INPUT} (${(statSync(INPUT).size / 1e6).toFixed(1)} MB), ${repeats} repeats`);

const ours: number[] = [];
const startup: number[] = [];
const mne: number[] = [];
const cp: number[] = [];
for (let i = 0; i < repeats; i++) {
  ours.push(timeProcess("node", [cli, "convert", INPUT, OUT]));
  startup.push(timeProcess("node", [cli, "--version"]));
  const py = spawnSync(PYTHON, ["-c", MNE, INPUT, OUT], { encoding: "utf8" });
  if (py.status !== 0) throw new Error(py.stderr);
  mne.push(Number(py.stdout.trim()));
  cp.push(timeProcess("cp", [INPUT, OUT]));
  console.log(`run ${i + 1}: neurocode convert ${ours[i]!.toFixed(2)} s (CLI startup alone ${startup[i]!.toFixed(2)} s), MNE ${mne[i]!.toFixed(2)} s, cp ${cp[i]!.toFixed(2)} s`);
}
rmSync(OUT, { force: true });
const o = median(ours), s = median(startup), m = median(mne), c = median(cp);
console.log(`median: neurocode convert ${o.toFixed(2)} s (startup ${s.toFixed(2)} s), MNE read_raw_fif+np.save ${m.toFixed(2)} s, cp ${c.toFixed(2)} s`);
console.log(`MNE / neurocode = ${(m / o).toFixed(2)}x (goal >= 3x); neurocode / cp = ${(o / c).toFixed(2)}x (goal <= 2x)`);
