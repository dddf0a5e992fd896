import { ValueError } from "../../errors.js";
import { alignExpert } from "./align.js";
import { hiddenSize, mapExpert, type ExpertWeights } from "./expert-weights.js";
import type { ExpertGroups } from "./group.js";

/** Options of `mergeExpertGroups`. */
export interface MergeOptions {
  /** Align each member's neurons to its group core before averaging (MC-SMoE `permute=True`). Default true. */
  align?: boolean;
}

/**
 * Frequency-weighted merging (MC-SMoE): group g's expert is
 * `Σ_{i∈g} f_i W_i / Σ_{i∈g} f_i` for every weight and bias. A group whose
 * members were never used (Σf = 0) gets the plain mean. The reference adds
 * 1e-7 to the denominator; leaving it out makes merging identical experts
 * return them exactly.
 *
 * Returns one expert per group, in group-label order.
 */
export function mergeExpertGroups(experts: readonly ExpertWeights[], usage: Float64Array, groups: ExpertGroups, opts: MergeOptions = {}): ExpertWeights[] {
  if (experts.length !== usage.length || groups.labels.length !== usage.length) {
    throw new ValueError(`mergeExpertGroups: ${experts.length} experts, ${usage.length} usage values, ${groups.labels.length} labels`);
  }
  for (const f of usage) if (!(f >= 0) || !Number.isFinite(f)) throw new ValueError("mergeExpertGroups: usage must be finite and ≥ 0");
  const h = hiddenSize(experts[0]!);
  for (const x of experts) if (hiddenSize(x) !== h) throw new ValueError("mergeExpertGroups: experts have different hidden sizes");
  const align = opts.align ?? true;
  return Array.from(groups.cores, (core, g) => {
    const members: number[] = [];
    groups.labels.forEach((l, i) => l === g && members.push(i));
    const total = members.reduce((s, i) => s + usage[i]!, 0);
    const weight = (i: number): number => (total > 0 ? usage[i]! / total : 1 / members.length);
    const ref = experts[core]!;
    const acc = mapExpert(ref, (p) => new Float64Array(p.length));
    for (const i of members) {
      const member = align && i !== core ? alignExpert(ref, experts[i]!) : experts[i]!;
      const w = weight(i);
      mapExpert(member, (p, name) => {
        const dst = partOf(acc, name);
        for (let k = 0; k < p.length; k++) dst[k]! += w * p[k]!;
        return p;
      });
    }
    return acc;
  });
}

function partOf(e: ExpertWeights, name: keyof ExpertWeights): Float64Array {
  const p = e[name];
  if (!p) throw new ValueError(`mergeExpertGroups: experts differ in which parts they have (${name})`);
  return p instanceof Float64Array ? p : p.data;
}
