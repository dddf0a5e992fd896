import { existsSync } from "node:fs";
import { ConfigError, FormatError, ValueError } from "../errors.js";
import { openCheckpoint } from "../nn/checkpoint.js";
import type { AnyModule } from "../nn/module.js";
import { TourTransformer, checkTourConfig } from "./tour-model.js";

/** Builds a model from the config stored in its checkpoint. */
export type ModelFactory = (config: Record<string, unknown>) => AnyModule;

const FACTORIES = new Map<string, ModelFactory>([["tour-transformer", (c) => new TourTransformer(checkTourConfig(c))]]);

/**
 * Makes checkpoints whose `__metadata__.model` is `name` (as `saveCheckpoint`
 * of nn/checkpoint writes it) loadable by `loadModelCheckpoint`, and so by
 * `neurocode inspect --checkpoint`.
 */
export function registerModelFactory(name: string, factory: ModelFactory): void {
  FACTORIES.set(name, factory);
}

/** Names `loadModelCheckpoint` can build. */
export function modelFactoryNames(): string[] {
  return [...FACTORIES.keys()];
}

/**
 * Opens a checkpoint written by nn's `saveCheckpoint` (metadata `model` and
 * `config`), builds the model by its registered factory and loads the weights
 * strictly (missing, unexpected or mis-shaped tensors throw). Eval mode.
 */
export function loadModelCheckpoint(path: string): { model: AnyModule; name: string; config: Record<string, unknown> } {
  if (!existsSync(path)) throw new ValueError(`no such checkpoint: ${path}`);
  const ck = openCheckpoint(path);
  const name = ck.metadata.model;
  if (!name) throw new FormatError({ path, field: "__metadata__.model" }, "missing: cannot tell which model the checkpoint holds");
  const factory = FACTORIES.get(name);
  if (!factory) throw new ConfigError("checkpoint", `unknown model "${name}" (known: ${modelFactoryNames().join(", ")})`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(ck.metadata.config ?? "{}") as Record<string, unknown>;
  } catch {
    throw new FormatError({ path, field: "__metadata__.config" }, "not valid JSON");
  }
  const model = factory(config);
  try {
    model.loadStateDict(new Map(ck.tensors.map((t) => [t.name, t.read()])));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model: model.eval(), name, config };
}
