import type { Command } from "commander";
import { registerCheckpoint } from "./checkpoint.js";
import { registerConvert } from "./convert.js";
import { registerEvaluate, registerFinetune } from "./finetune.js";
import { registerInfo } from "./info.js";
import { registerInspect } from "./inspect.js";
import { registerPreprocess } from "./preprocess.js";
import { registerRun } from "./run.js";
import { registerTokenize } from "./tokenize.js";
import { registerTrain } from "./train.js";

/** Every sub-command, in the order `--help` lists them. Add new commands here. */
export const COMMANDS: ((program: Command) => void)[] = [
  registerInfo,
  registerConvert,
  registerPreprocess,
  registerRun,
  registerTokenize,
  registerTrain,
  registerFinetune,
  registerEvaluate,
  registerCheckpoint,
  registerInspect,
];
