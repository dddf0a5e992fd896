import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { readableExtensions, writableExtensions } from "../../io/formats.js";
import type { Recording } from "../../recording/types.js";
import type { BipolarPair, ReferenceSpec } from "../../signal/reference.js";
import { parseList, parseNumber } from "../options.js";

interface PreprocessOptions {
  bandpass?: string[];
  notch?: string[];
  resample?: number;
  reference?: string;
  interpolateBads?: boolean;
  channels?: string[];
  rate?: number;
  sfreq?: number;
  threads?: number;
}

/** The processing options, by the flag that introduces them. */
const STEP_FLAGS = ["--bandpass", "--notch", "--resample", "--reference", "--interpolate-bads"] as const;
type StepFlag = (typeof STEP_FLAGS)[number];

/**
 * Commander hands options over unordered; the order the user typed them is
 * the processing order, so it is read back from the raw arguments.
 */
export function stepOrder(rawArgs: readonly string[]): StepFlag[] {
  const order: StepFlag[] = [];
  for (const a of rawArgs) {
    if (a === "--") break;
    const flag = STEP_FLAGS.find((f) => a === f || a.startsWith(`${f}=`));
    if (!flag) continue;
    if (order.includes(flag)) throw new ConfigError(flag, "given more than once: put all values after one flag");
    order.push(flag);
  }
  return order;
}

function numbers(flag: string, values: string[] | undefined, count?: number): number[] {
  const v = (values ?? []).flatMap((s) => s.split(",")).filter((s) => s.trim() !== "").map(Number);
  if (v.some((x) => !Number.isFinite(x))) throw new ConfigError(flag, `expects numbers in Hz, got "${(values ?? []).join(" ")}"`);
  if (count !== undefined && v.length !== count) throw new ConfigError(flag, `expects ${count} frequencies in Hz, got ${v.length}`);
  if (v.length === 0) throw new ConfigError(flag, "expects at least one frequency in Hz");
  return v;
}

/**
 * `bipolar:NAME` (a bundled montage in `sensors/`, e.g. `tcp-eegdm` or
 * `tcp-double-banana`; `tcp` is EEGDM's) or `bipolar:FILE` (lines
 * `anode cathode [name]`, `#` comments) → pairs.
 */
async function bipolarPairs(name: string): Promise<readonly BipolarPair[]> {
  const { loadBipolarMontage, montagePairs } = await import("../../sensors/bipolar.js");
  const bundled = name.toLowerCase() === "tcp" ? "tcp-eegdm" : name;
  if (/^[\w-]+$/.test(bundled)) return montagePairs(loadBipolarMontage(bundled));
  let text: string;
  try {
    text = readFileSync(name, "utf8");
  } catch {
    throw new ConfigError("--reference", `unknown bipolar montage "${name}": use a bundled one (tcp, tcp-eegdm, tcp-double-banana) or a file with one "anode cathode [name]" per line`);
  }
  return text
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter((l) => l !== "")
    .map((l, i) => {
      const f = l.split(/[\s,]+/);
      if (f.length < 2 || f.length > 3) throw new ConfigError("--reference", `${name} line ${i + 1}: expected "anode cathode [name]"`);
      return [f[0]!, f[1]!, f[2]] as const;
    });
}

async function referenceSpec(value: string): Promise<ReferenceSpec> {
  if (value === "average") return "average";
  if (value.startsWith("bipolar:")) return { bipolar: await bipolarPairs(value.slice("bipolar:".length)) };
  return parseList(value);
}

export function registerPreprocess(program: Command): void {
  program
    .command("preprocess")
    .argument("<in>", `input recording (${readableExtensions().join(", ")})`)
    .argument("<out>", `output file; format by extension (${writableExtensions().join(", ")})`)
    .description("filter, notch, resample, re-reference and repair a recording, in the order the options are given (MNE-equal numerics)")
    .option("--bandpass <hz...>", "band-pass LO HI in Hz: MNE's default FIR, zero phase (raw.filter(LO, HI)); LO > HI gives a band-stop")
    .option("--notch <hz...>", "remove line noise at these Hz (e.g. 50 60): MNE's default FIR notch (raw.notch_filter(freqs))")
    .option("--resample <hz>", "new sampling rate in Hz: MNE's FFT resampling (raw.resample(sfreq))", parseNumber)
    .option("--reference <spec>", "average | CH[,CH...] | bipolar:tcp | bipolar:FILE (raw.set_eeg_reference / set_bipolar_reference)")
    .option("--interpolate-bads", "replace bad EEG channels by spherical splines (raw.interpolate_bads(origin=(0, 0, 0.04))); needs electrode positions")
    .option("--channels <names>", "only these channels (comma-separated)", parseList)
    .option("--rate <hz>", "for files with several sampling rates: the signals at this rate", parseNumber)
    .option("--sfreq <hz>", "sampling rate of a .npy input", parseNumber)
    .option("--threads <n>", "threads for filtering and resampling (default: all cores; 1 = no worker threads)", parseNumber)
    .addHelpText(
      "after",
      `
Steps run in the order you write them, so
  --notch 50 60 --resample 256 --bandpass 0.1 96
is BrainOmni's pretraining recipe (notch, then resample, then band-pass), and
  --bandpass 0.1 75 --notch 50 --resample 200 --reference bipolar:tcp
is EEGDM's (TUH channel names "EEG FP1-REF" ...; 22 TCP derivations out).

Units and defaults (MNE-Python 1.3 equivalents):
  --bandpass LO HI   Hz, pass-band edges. Transition bands: min(max(LO/4, 2), LO) below and
                     min(max(HI/4, 2), sfreq/2 - HI) above; length 3.3/transition s (Hamming,
                     odd); applied zero-phase to brain channels (bads too), each segment apart.
  --notch F...       Hz. Stop band F +- F/400, 1 Hz transitions, FIR of 6.6 s.
  --resample HZ      FFT method, npad="auto", boxcar window; segment lengths round(n*HZ/sfreq).
  --reference        "average": mean of the good channels of the EEG kind; CH: that channel;
                     bipolar: anode minus cathode, only the derivations are kept.
  --interpolate-bads bad EEG channels (from the file's bad list) are rebuilt and cleared.
Values are in SI units (V, T, T/m) throughout; output is float32.

Examples:
  neurocode preprocess rec.edf clean.fif --notch 50 60 --resample 256 --bandpass 0.1 96
  neurocode preprocess tuh.edf bip.npy --bandpass 0.1 75 --notch 50 --resample 200 --reference bipolar:tcp`,
    )
    .action(async (input: string, output: string, opts: PreprocessOptions, cmd: Command) => {
      // commander keeps the argv it parsed as `rawArgs` (untyped); process.argv is the same for the installed CLI.
      const raw = (cmd.parent as unknown as { rawArgs?: string[] } | null)?.rawArgs ?? process.argv;
      const order = stepOrder(raw);
      if (order.length === 0) throw new ConfigError("preprocess", "give at least one of --bandpass, --notch, --resample, --reference, --interpolate-bads");
      const par = opts.threads === undefined ? {} : { threads: opts.threads };
      // Loaded here, not at start-up: every command would pay for every reader and filter.
      const [{ readRecording, writeRecording }, { interpolateBads }, { filterRecording, notchFilter, resampleRecording }, { setReference }] = await Promise.all([
        import("../../io/open.js"),
        import("../../signal/bads.js"),
        import("../../signal/recording-ops.js"),
        import("../../signal/reference.js"),
      ]);
      let rec: Recording = readRecording(input, { channels: opts.channels, rate: opts.rate, sfreq: opts.sfreq });
      // rec is this command's own (read from the file or made by an earlier step), so the steps work
      // in place, as MNE's Raw methods do: a fresh copy of an hour of 64 channels costs ~0.8 s of page faults.
      const inPlace = { ...par, inPlace: true };
      const done: string[] = [];
      for (const step of order) {
        if (step === "--bandpass") {
          const [lo, hi] = numbers(step, opts.bandpass, 2) as [number, number];
          rec = filterRecording(rec, lo, hi, inPlace);
          done.push(`${lo < hi ? "band-pass" : "band-stop"} ${lo}-${hi} Hz`);
        } else if (step === "--notch") {
          const f = numbers(step, opts.notch);
          rec = notchFilter(rec, f, inPlace);
          done.push(`notch ${f.join(", ")} Hz`);
        } else if (step === "--resample") {
          rec = resampleRecording(rec, opts.resample!, inPlace);
          done.push(`resample ${opts.resample} Hz`);
        } else if (step === "--reference") {
          rec = setReference(rec, await referenceSpec(opts.reference!), { inPlace: true });
          done.push(`reference ${opts.reference}`);
        } else {
          const n = rec.bads.length;
          rec = interpolateBads(rec);
          done.push(`interpolated ${n - rec.bads.length} bad channels`);
        }
      }
      writeRecording(output, rec);
      process.stderr.write(`wrote ${output}: ${done.join(" -> ")} (${rec.channels.length} channels, ${rec.data.shape[1]} samples at ${rec.sfreq} Hz)\n`);
    });
}
