import { ConfigError, ValueError } from "../errors.js";
import type { AnyModule } from "../nn/module.js";
import type { MoELayerReport } from "./aux.js";
import { MoEFeedForward } from "./layer.js";
import type { ExpertMask } from "./router.js";

/**
 * Counts, per MoE layer and expert, how many tokens selected the expert, over
 * any number of forwards (the reports of `collectMoEAux`). One recorder per
 * prompt set feeds fTRI-style behaviour scoring and MC-SMoE usage statistics.
 */
export class ExpertUsageRecorder {
  private readonly routed = new Map<string, Float64Array>();
  private readonly tokens = new Map<string, number>();

  /** Adds the reports of one `collectMoEAux` call. */
  add(reports: readonly MoELayerReport[]): void {
    for (const r of reports) {
      const acc = this.routed.get(r.name) ?? new Float64Array(r.routed.length);
      if (acc.length !== r.routed.length) throw new ValueError(`ExpertUsageRecorder: layer "${r.name}" changed its expert count`);
      r.routed.forEach((c, e) => (acc[e]! += c));
      this.routed.set(r.name, acc);
      this.tokens.set(r.name, (this.tokens.get(r.name) ?? 0) + r.numTokens);
    }
  }

  /** Layer names seen, in first-seen order. */
  get layers(): string[] {
    return [...this.routed.keys()];
  }

  /** Share of tokens that selected each expert of `layer` (in [0, 1]; sums to k). */
  frequencies(layer: string): Float64Array {
    const acc = this.routed.get(layer);
    if (!acc) throw new ValueError(`ExpertUsageRecorder: no records for layer "${layer}"`);
    const t = this.tokens.get(layer)!;
    return acc.map((c) => c / t);
  }
}

/** One expert's association with a behaviour. */
export interface ExpertScore {
  layer: string;
  expert: number;
  /** Activation frequency on the behaviour set minus that on the contrast set (risk difference). */
  score: number;
  frequencyA: number;
  frequencyB: number;
}

/**
 * fTRI-style scoring (MoTE): experts ranked by how much more often they are
 * selected on prompts showing a behaviour (`a`) than on contrast prompts
 * (`b`); the score is the difference of activation frequencies. Sorted by
 * decreasing score. MoTE's exact normalisation is not public; the risk
 * difference is the rule of SteerMoE, which describes the same procedure.
 */
export function scoreExpertsByBehaviour(a: ExpertUsageRecorder, b: ExpertUsageRecorder): ExpertScore[] {
  const out: ExpertScore[] = [];
  for (const layer of a.layers) {
    const fa = a.frequencies(layer);
    const fb = b.frequencies(layer);
    if (fa.length !== fb.length) throw new ValueError(`scoreExpertsByBehaviour: layer "${layer}" has ${fa.length} vs ${fb.length} experts`);
    fa.forEach((f, expert) => out.push({ layer, expert, score: f - fb[expert]!, frequencyA: f, frequencyB: fb[expert]! }));
  }
  return out.sort((x, y) => y.score - x.score || x.layer.localeCompare(y.layer) || x.expert - y.expert);
}

/** MoE layers of a model by dotted name. */
export function moeLayers(model: AnyModule): Map<string, MoEFeedForward> {
  return new Map(model.namedModules().filter((e): e is [string, MoEFeedForward] => e[1] instanceof MoEFeedForward));
}

/**
 * MoTE intervention: switches experts off or forces them on, per MoE layer
 * name (`{ "blocks.1.ffn": { off: [3] } }`). Layers not named keep their mask.
 * An unknown layer name is a `ConfigError`. `clearExpertMasks` undoes it.
 */
export function applyExpertMasks(model: AnyModule, masks: Record<string, ExpertMask>): void {
  const layers = moeLayers(model);
  for (const name of Object.keys(masks)) if (!layers.has(name)) throw new ConfigError(`masks.${name}`, `no MoE layer named "${name}" (have: ${[...layers.keys()].join(", ")})`);
  for (const [name, mask] of Object.entries(masks)) layers.get(name)!.router.setMask(mask);
}

/** Removes every expert mask of the model's MoE layers. */
export function clearExpertMasks(model: AnyModule): void {
  for (const layer of moeLayers(model).values()) layer.router.setMask({});
}
