import { existsSync } from "node:fs";
import { ConfigError, FormatError, ValueError } from "../errors.js";
import type { AnyModule } from "../nn/module.js";
import { readSafetensors, writeSafetensors } from "../nn/safetensors.js";
import { VERSION } from "../version.js";
import { TourTransformer, checkTourConfig } from "./tour-model.js";

/** Builds a model from the config stored in its checkpoint. */
export type ModelFactory = (config: Record<string, unknown>) => AnyModule;

const FACTORIES = new Map<string, ModelFactory>([["tour-transformer", (c) => new TourTransformer(checkTourConfig(c))]]);

/**
 * Makes checkpoints whose `__metadata__.model` is `name` loadable by
 * `loadModelCheckpoint` (and so by `neurocode inspect --checkpoint`).
 */
export function registerModelFactory(name: string, factory: ModelFactory): void {
  FACTORIES.set(name, factory);
}

/** Names `loadModelCheckpoint` can build. */
export function modelFactoryNames(): string[] {
  return [...FACTORIES.keys()];
}

/**
 * Writes `model`'s state dict as safetensors with `__metadata__` holding
 * `model` (the factory name), `config` (JSON) and `neurocode.version`, atomically.
 */
export function saveModelCheckpoint(path: string, name: string, config: object, model: AnyModule): void {
  writeSafetensors(path, model.stateDict(), { model: name, config: JSON.stringify(config), "neurocode.version": VERSION });
}

/**
 * Reads a safetensors checkpoint written by `saveModelCheckpoint` (or any with
 * the same metadata), builds the model by its registered factory and loads
 * the weights strictly (a missing, unexpected or mis-shaped tensor throws).
 * The model is in eval mode.
 */
export function loadModelCheckpoint(path: string): { model: AnyModule; name: string; config: Record<string, unknown> } {
  if (!existsSync(path)) throw new ValueError(`no such checkpoint: ${path}`);
  const file = readSafetensors(path);
  const name = file.metadata.model;
  if (!name) throw new FormatError({ path, field: "__metadata__.model" }, "missing: cannot tell which model the checkpoint holds");
  const factory = FACTORIES.get(name);
  if (!factory) throw new ConfigError("checkpoint", `unknown model "${name}" (known: ${modelFactoryNames().join(", ")})`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(file.metadata.config ?? "{}") as Record<string, unknown>;
  } catch {
    throw new FormatError({ path, field: "__metadata__.config" }, "not valid JSON");
  }
  const model = factory(config);
  try {
    model.loadStateDict(new Map(file.tensors.map((t) => [t.name, t.read()])));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model: model.eval(), name, config };
}
