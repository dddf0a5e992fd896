import type { Command } from "commander";

/** nn/ pulls in TensorFlow.js; load it only when a checkpoint command runs, not at every CLI start. */
const nnCheckpoint = () => import("../../nn/checkpoint.js");

interface InfoOptions {
  json?: boolean;
}

/** `neurocode checkpoint info|convert`: inspect and convert model checkpoints (no tensor backend needed). */
export function registerCheckpoint(program: Command): void {
  const cmd = program.command("checkpoint").description("inspect and convert model checkpoints (PyTorch .pt/.pth/.bin, safetensors)");
  cmd
    .command("info")
    .argument("<file>", "a checkpoint (.pt, .pth, .bin or .safetensors)")
    .description("list every tensor: name, dtype, shape")
    .option("--json", "print one JSON object instead of text")
    .addHelpText("after", "\nExamples:\n  neurocode checkpoint info model.pt\n  neurocode checkpoint info model.safetensors --json | jq '.tensors | length'")
    .action(async (file: string, opts: InfoOptions) => {
      const ck = (await nnCheckpoint()).openCheckpoint(file);
      const tensors = ck.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
      const count = tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ path: file, format: ck.format, metadata: ck.metadata, numTensors: tensors.length, numElements: count, tensors }, null, 2)}\n`);
        return;
      }
      const width = Math.max(4, ...tensors.map((t) => t.name.length));
      const lines = [`${file} (${ck.format}): ${tensors.length} tensors, ${count} elements`];
      for (const [k, v] of Object.entries(ck.metadata)) lines.push(`  ${k}: ${v.length > 100 ? `${v.slice(0, 100)}...` : v}`);
      for (const t of tensors) lines.push(`  ${t.name.padEnd(width)}  ${t.dtype.padEnd(4)}  [${t.shape.join(", ")}]`);
      process.stdout.write(`${lines.join("\n")}\n`);
    });
  cmd
    .command("convert")
    .argument("<in>", "a PyTorch (.pt/.pth/.bin) or safetensors checkpoint")
    .argument("<out>", "the safetensors file to write")
    .description("convert a checkpoint to safetensors (names mapped as neurocode loads them; written atomically)")
    .option("--model <name>", "model name stored in the metadata")
    .addHelpText("after", "\nExample:\n  neurocode checkpoint convert checkpoint-399.pth duin.safetensors --model duin")
    .action(async (input: string, output: string, opts: { model?: string }) => {
      const n = (await nnCheckpoint()).convertCheckpoint(input, output, { modelName: opts.model });
      process.stderr.write(`wrote ${n} tensors to ${output}\n`);
    });
}
