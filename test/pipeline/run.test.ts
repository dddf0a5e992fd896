import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readArrow } from "../../src/io/arrow.js";
import { readEdf } from "../../src/io/edf/reader.js";
import { runPipeline, type RunEvent } from "../../src/pipeline/runner.js";
import { loadPipeline, validatePipeline } from "../../src/pipeline/schema.js";
import { ROOT, sharedData } from "../helpers/shared.js";

const CLI = join(ROOT, "dist", "cli", "main.js");
const PIPELINE = join(ROOT, "pipelines", "windows.yaml");

/** A folder of EDF and FIF files, some in BIDS-style sub-folders. */
function makeInputs(): string {
  const dir = mkdtempSync(join(tmpdir(), "nc-run-in-"));
  const edf = join(ROOT, "examples", "data", "sample.edf");
  for (let i = 1; i <= 4; i++) {
    mkdirSync(join(dir, `sub-0${i}`, "eeg"), { recursive: true });
    copyFileSync(edf, join(dir, `sub-0${i}`, "eeg", `sub-0${i}_eeg.edf`));
  }
  mkdirSync(join(dir, "sub-05", "meg"), { recursive: true });
  copyFileSync(sharedData("generated/neuromag_raw.fif"), join(dir, "sub-05", "meg", "sub-05_meg.fif"));
  return dir;
}

/** Every file under `dir` (relative path → bytes). */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.set(relative(dir, full), readFileSync(full));
    }
  };
  walk(dir);
  return out;
}

function runCli(args: string[], killAfterDone?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; events: RunEvent[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "run", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const events: RunEvent[] = [];
    let buf = "";
    let done = 0;
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const e = JSON.parse(buf.slice(0, nl)) as RunEvent;
        buf = buf.slice(nl + 1);
        events.push(e);
        if (e.event === "done" && ++done === killAfterDone) child.kill("SIGKILL");
      }
    });
    child.on("close", (code, signal) => resolve({ code, signal, events, stderr }));
  });
}

describe("neurocode run", () => {
  it("survives SIGKILL mid-run: the restart gives outputs byte-identical to an uninterrupted run", async () => {
    expect(existsSync(CLI)).toBe(true); // `npm test` builds dist first
    const input = makeInputs();
    const outA = mkdtempSync(join(tmpdir(), "nc-run-a-"));
    const outB = mkdtempSync(join(tmpdir(), "nc-run-b-"));
    const full = await runCli([PIPELINE, "--input", input, "--out", outA, "--workers", "1", "--log-json"]);
    expect(full.code, full.stderr).toBe(0);
    expect(full.events.filter((e) => e.event === "done")).toHaveLength(5);

    const killed = await runCli([PIPELINE, "--input", input, "--out", outB, "--workers", "1", "--log-json"], 2);
    expect(killed.signal).toBe("SIGKILL");
    const partial = snapshot(outB);
    expect([...partial.keys()].filter((k) => k.endsWith(".arrow")).length).toBeLessThan(5);

    const resumed = await runCli([PIPELINE, "--input", input, "--out", outB, "--workers", "2", "--log-json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.events.filter((e) => e.event === "skip").length).toBeGreaterThanOrEqual(2);
    const a = snapshot(outA);
    const b = snapshot(outB);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort()); // no stray temporaries
    for (const [k, bytes] of a) expect(b.get(k)!.equals(bytes), k).toBe(true);
  }, 180_000);

  it("writes the windows a lab script expects and reports bad files without stopping", async () => {
    const input = makeInputs();
    writeFileSync(join(input, "broken.edf"), "0       not really an EDF header");
    const out = mkdtempSync(join(tmpdir(), "nc-run-c-"));
    const events: RunEvent[] = [];
    const summary = await runPipeline(loadPipeline(PIPELINE), { input, out, workers: 2, onEvent: (e) => events.push(e) });
    expect(summary.done).toBe(5);
    expect(summary.failed).toHaveLength(1);
    expect(summary.failed[0]!.file).toBe("broken.edf");
    expect(summary.failed[0]!.reason).toMatch(/FormatError/);

    const t = readArrow(join(out, "sub-01", "eeg", "sub-01_eeg.arrow"));
    // sample.edf: 60 s → band-pass → 128 Hz → 30 windows of 2 s of its 8 EEG channels.
    expect(t.numRows).toBe(30);
    expect(JSON.parse(t.schema.metadata.get("shape")!)).toEqual([8, 256]);
    expect(t.schema.metadata.get("sfreq")).toBe("128");
    expect(Array.from(t.getChild("start_time")!.toArray() as Float64Array).slice(0, 3)).toEqual([0, 2, 4]);
    // Channels carry their sensor geometry (standard 10-05 positions for EEG labels, metres).
    const chans = JSON.parse(t.schema.metadata.get("channels")!) as { name: string; sensor?: { position: number[] } }[];
    expect(chans.map((c) => c.name)).toEqual(["Fp1", "Fp2", "C3", "C4", "O1", "O2", "Cz", "Pz"]);
    expect(chans.every((c) => c.sensor && Math.hypot(...c.sensor.position) > 0.05 && Math.hypot(...c.sensor.position) < 0.15)).toBe(true);
    const w0 = t.getChild("data")!.get(0)!.toArray() as Float32Array;
    expect(w0.length).toBe(8 * 256);
    expect(w0.every(Number.isFinite)).toBe(true);
    // EEG of a few tens of µV, in volts.
    const rms = Math.sqrt(w0.reduce((s, v) => s + v * v, 0) / w0.length);
    expect(rms).toBeGreaterThan(1e-6);
    expect(rms).toBeLessThan(1e-3);
  }, 120_000);

  it("cuts labelled windows inside annotations", async () => {
    const input = mkdtempSync(join(tmpdir(), "nc-run-d-"));
    copyFileSync(join(ROOT, "examples", "data", "sample.edf"), join(input, "s.edf"));
    const out = mkdtempSync(join(tmpdir(), "nc-run-d-out-"));
    const pipeline = validatePipeline({
      name: "rhythms",
      stages: [{ pick: "eeg" }, { window: { length: 4, stride: 4, annotations: { "eyes open": "open", "eyes closed": "closed" } } }, { write: "arrow" }],
    });
    await runPipeline(pipeline, { input, out, workers: 1 });
    const t = readArrow(join(out, "s.arrow"));
    const rec = readEdf(join(input, "s.edf"));
    const expected: { label: string; start: number }[] = [];
    for (const a of rec.annotations) {
      const label = a.description === "eyes open" ? "open" : a.description === "eyes closed" ? "closed" : null;
      if (!label) continue;
      for (let s = a.onset; s + 4 <= a.onset + a.duration! + 1e-9; s += 4) expected.push({ label, start: s });
    }
    expect(t.getChild("label")!.toArray()).toEqual(expected.map((e) => e.label));
    const starts = Array.from(t.getChild("start_time")!.toArray() as Float64Array);
    starts.forEach((s, i) => expect(s).toBeCloseTo(expected[i]!.start, 6));
  }, 60_000);
});
