import type { Command } from "commander";

/** Adds one sub-command (arguments, options, help, action) to the program. */
export type RegisterCommand = (program: Command) => void;

/**
 * Every sub-command, in the order `--help` lists them, with the module that
 * defines it. Modules load on demand: running one command loads only its
 * module, since each module costs start-up time. Add new commands here.
 */
export const COMMANDS: readonly { name: string; load: () => Promise<RegisterCommand> }[] = [
  { name: "info", load: async () => (await import("./info.js")).registerInfo },
  { name: "convert", load: async () => (await import("./convert.js")).registerConvert },
  { name: "preprocess", load: async () => (await import("./preprocess.js")).registerPreprocess },
  { name: "run", load: async () => (await import("./run.js")).registerRun },
  { name: "tokenize", load: async () => (await import("./tokenize.js")).registerTokenize },
  { name: "train", load: async () => (await import("./train.js")).registerTrain },
  { name: "finetune", load: async () => (await import("./finetune.js")).registerFinetune },
  { name: "evaluate", load: async () => (await import("./finetune.js")).registerEvaluate },
  { name: "checkpoint", load: async () => (await import("./checkpoint.js")).registerCheckpoint },
  { name: "inspect", load: async () => (await import("./inspect.js")).registerInspect },
];
