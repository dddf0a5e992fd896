import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram, loadCommands } from "../../src/cli/main.js";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { readableExtensions } from "../../src/io/formats.js";
import { runMain } from "../helpers/cli.js";

const SRC = resolve(import.meta.dirname, "../../src");

/** Modules a file loads when it is imported: static value imports and re-exports (not `import type`, not `import()`). */
function staticImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)(?:[\s\S]*?\sfrom\s+)?"([^"]+)";/gm)) out.push(m[1]!);
  return out;
}

/** Every module loaded by importing `entry`, following relative imports to their .ts sources; packages by name. */
function loadedAtStart(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else seen.add(spec);
    }
  };
  visit(entry);
  return seen;
}

describe("CLI start-up", () => {
  it("loads no reader, writer, filter, pipeline or model: commands import those inside their actions", () => {
    const loaded = [...loadedAtStart(join(SRC, "cli/main.ts"))].map((f) => f.replace(`${SRC}/`, ""));
    expect(loaded).toContain("cli/commands/index.ts");
    expect(loaded).toContain("commander");
    // Not even the command definitions: main loads the one being run.
    expect(loaded.filter((f) => f.startsWith("cli/commands/") && f !== "cli/commands/index.ts")).toEqual([]);
    const heavy = loaded.filter((f) => /^(io\/(open|edf|fif|arrow|npy)|signal|pipeline\/(?!inputs)|models|engine|train|nn|inspect|sensors)\b|^(apache-arrow|yaml|@tensorflow|ndarray|fili)/.test(f));
    expect(heavy).toEqual([]);
  });

  it("loads one command's module for that command, all of them otherwise, in --help order", async () => {
    const one = await loadCommands("convert");
    expect(one).toHaveLength(1);
    const p = new (await import("commander")).Command("x");
    one[0]!(p);
    expect(p.commands.map((c) => c.name())).toEqual(["convert"]);
    for (const name of [undefined, "--help", "nope"]) expect(await loadCommands(name)).toHaveLength(COMMANDS.length);
    expect(buildProgram().commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
  });

  it("every command's --help exits 0 and lists each of its options", async () => {
    const commands = buildProgram().commands;
    expect(commands.length).toBeGreaterThanOrEqual(10);
    for (const cmd of commands) {
      const r = await runMain([cmd.name(), "--help"]);
      expect(r.code, cmd.name()).toBe(0);
      expect(r.stdout).toContain(`Usage: neurocode ${cmd.name()}`);
      for (const opt of cmd.options) expect(r.stdout, `${cmd.name()} ${opt.flags}`).toContain(opt.long ?? opt.flags);
    }
    const convert = await runMain(["convert", "--help"]);
    for (const ext of readableExtensions()) expect(convert.stdout).toContain(ext);
  });
});
