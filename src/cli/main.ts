#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { NeurocodeError } from "../errors.js";
import { VERSION } from "../version.js";
import { COMMANDS, type RegisterCommand } from "./commands/index.js";
import { exitWithParent, rerunWithHugePages } from "./hugepages.js";

/** The registration of sub-command `name` alone when there is one of that name, else of every sub-command (help, version, errors). */
export async function loadCommands(name?: string): Promise<RegisterCommand[]> {
  const one = COMMANDS.find((c) => c.name === name);
  return Promise.all((one ? [one] : COMMANDS).map((c) => c.load()));
}

// Heavy commands restart themselves with huge pages for large allocations (see hugepages.ts) before loading anything.
const rerun = isEntryPoint() ? rerunWithHugePages(process.argv) : null;
if (rerun !== null) process.exit(rerun);
if (isEntryPoint()) exitWithParent();

// Run as the CLI, only the sub-command being run is loaded; imported (tests, `main()` in-process), all of them.
const REGISTERED = await loadCommands(isEntryPoint() ? process.argv[2] : undefined);

/** Builds the `neurocode` command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command("neurocode")
    .description("Read, clean, window, tokenize and model EEG/MEG/sEEG recordings (EDF, BDF, FIF).")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false });
  for (const register of REGISTERED) register(program);
  return program;
}

/** Runs the CLI; user errors print one line and exit 1, usage errors exit 2. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Sub-commands copy the parent's settings when created, so each needs its own override (else `cmd --help` calls process.exit).
  for (const c of [program, ...program.commands]) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: "user" });
    // Commands that finish with partial failure set process.exitCode (e.g. `run`).
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof NeurocodeError) {
      process.stderr.write(`neurocode: ${e.name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`neurocode: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(70);
    },
  );
}
