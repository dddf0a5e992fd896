/**
 * FIF → .npy: `neurocode convert` (a whole node process) against MNE's
 * `read_raw_fif(preload=True)` + `numpy.save` (timed inside Python), and `cp`
 * of the same file, on a 376-channel, 2-minute Neuromag-geometry raw FIF
 * (~110 MB of float32 buffers) generated with MNE from neuromag_raw.fif's info.
 *
 *   npm run build && npx tsx bench/fif_convert.ts [--runs 5] [--hugepages]
 *
 * Wall and CPU (user + system) times per run and their medians. Also timed:
 * the CLI's start-up alone (`neurocode convert --help`: node, commander and
 * the convert command's module) and the same conversion inside one node
 * process after its imports (`fifToNpy`, what `convert` runs for FIF → .npy:
 * the data streamed in chunks, written atomically). `--hugepages` runs every
 * process with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (transparent huge
 * pages for large allocations). Every writer starts with no output file
 * (the previous one is removed outside the timing). The machine is shared
 * (2 cores): compare medians of one run.
 *
 * neurocode fsyncs every output before renaming it into place (a power loss
 * cannot leave a whole-looking file of zeros); MNE's np.save and cp do not,
 * and this VM's disk takes 0.2-0.4 s to persist 108 MB. So MNE and cp are
 * also timed with an fsync of their output, the like-for-like comparison.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { median } from "./common.js";

const ROOT = resolve(import.meta.dirname, "..");
const DATA = join(ROOT, "bench", "data");
const INPUT = join(DATA, "neuromag_2min_raw.fif");
const SOURCE = resolve(ROOT, "..", "shared", "data", "generated", "neuromag_raw.fif");
const PYTHON = "/usr/bin/python3";
const OUT = join(DATA, "fif_convert_out.npy");
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1] ?? 5) || 5;
const env = args.includes("--hugepages") ? { ...process.env, GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" } : process.env;

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

// Timed inside Python, as the issue asks: wall and CPU of read_raw_fif(preload=True) + np.save (float32, like neurocode's output).
const MNE = `
import os, sys, time, mne, numpy as np
w, c = time.perf_counter(), time.process_time()
raw = mne.io.read_raw_fif(sys.argv[1], preload=True, verbose=False)
np.save(sys.argv[2], raw.get_data().astype(np.float32))
if len(sys.argv) > 3:  # the durability neurocode gives its outputs: the data on disk before the call returns
    fd = os.open(sys.argv[2], os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
print(time.perf_counter() - w, time.process_time() - c)
`;

// The same conversion inside one node process after the imports: what `convert` runs (fifToNpy, streamed in chunks).
const INPROC = `
const { fifToNpy } = await import(${JSON.stringify(join(ROOT, "dist", "io", "fif", "to-npy.js"))});
const w = performance.now(), c = process.cpuUsage();
await fifToNpy(process.argv[2], process.argv[1]);
const u = process.cpuUsage(c);
console.log((performance.now() - w) / 1000, (u.user + u.system) / 1e6);
`;

interface Time {
  wall: number;
  cpu: number;
}


/** Wall and CPU time of a whole process, from GNU time. */
function timeProcess(cmd: string, argv: string[]): Time {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S", cmd, ...argv], { env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed: ${r.stderr}`);
  const [wall, user, sys] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { wall: wall!, cpu: user! + sys! };
}

function timeInside(cmd: string, argv: string[]): Time {
  const [wall, cpu] = execFileSync(cmd, argv, { env, encoding: "utf8" }).trim().split(/\s+/).map(Number);
  return { wall: wall!, cpu: cpu! };
}

mkdirSync(DATA, { recursive: true });
if (!existsSync(INPUT)) {
  console.log(`generating ${INPUT} with MNE ...`);
  execFileSync(PYTHON, ["-c", GENERATE, SOURCE, INPUT], { stdio: "inherit" });
}
const cli = join(ROOT, "dist", "cli", "main.js");
if (!existsSync(cli)) throw new Error("dist/cli/main.js missing: run npm run build first");
console.log(`input ${INPUT} (${(statSync(INPUT).size / 1e6).toFixed(1)} MB), ${runs} runs${env.GLIBC_TUNABLES ? ", GLIBC_TUNABLES=glibc.malloc.hugetlb=1" : ""}`);

const rows: Record<string, Time[]> = { "neurocode convert (whole process)": [], "  of which CLI start-up (neurocode convert --help)": [], "  read + write in one process, after imports": [], "MNE read_raw_fif(preload) + np.save (in Python)": [], "  the same + fsync of the output (neurocode's durability)": [], "cp": [], "cp + sync of the copy": [] };
const keys = Object.keys(rows);
for (let i = 0; i < runs; i++) {
  // Each writer starts with no output file: replacing a 108 MB file costs 50-100 ms here (freeing its pages and
  // blocks), more when it was fsynced, so inheriting the previous writer's file would skew the comparison.
  const fresh = <T>(f: () => T): T => {
    rmSync(OUT, { force: true });
    return f();
  };
  const t = [
    fresh(() => timeProcess("node", [cli, "convert", INPUT, OUT])),
    timeProcess("node", [cli, "convert", "--help"]),
    fresh(() => timeInside("node", ["--input-type=module", "-e", INPROC, OUT, INPUT])),
    fresh(() => timeInside(PYTHON, ["-c", MNE, INPUT, OUT])),
    fresh(() => timeInside(PYTHON, ["-c", MNE, INPUT, OUT, "fsync"])),
    fresh(() => timeProcess("cp", [INPUT, OUT])),
    fresh(() => timeProcess("sh", ["-c", 'cp "$0" "$1" && sync "$1"', INPUT, OUT])),
  ];
  t.forEach((x, k) => rows[keys[k]!]!.push(x));
  console.log(`run ${i + 1}: ${t.map((x, k) => `${keys[k]!.trim().split(" (")[0]} ${x.wall.toFixed(2)}/${x.cpu.toFixed(2)} s`).join(", ")}`);
}
rmSync(OUT, { force: true });
const med = (k: string, f: keyof Time) => median(rows[k]!.map((x) => x[f]));
console.log("\n| | wall (median) | CPU (median) |\n|---|---:|---:|");
for (const k of keys) console.log(`| ${k} | ${med(k, "wall").toFixed(2)} s | ${med(k, "cpu").toFixed(2)} s |`);
const [conv, , inproc, mne, mneSync, cp, cpSync] = keys;
for (const f of ["wall", "cpu"] as const) {
  console.log(`${f}: MNE / neurocode convert = ${(med(mne!, f) / med(conv!, f)).toFixed(2)}x (goal >= 3x), with fsync on both sides ${(med(mneSync!, f) / med(conv!, f)).toFixed(2)}x, in-process ${(med(mne!, f) / med(inproc!, f)).toFixed(2)}x; neurocode convert / cp = ${(med(conv!, f) / med(cp!, f)).toFixed(2)}x (goal <= 2x), / (cp + sync) ${(med(conv!, f) / med(cpSync!, f)).toFixed(2)}x, in-process ${(med(inproc!, f) / med(cp!, f)).toFixed(2)}x`);
}
