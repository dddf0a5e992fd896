import { ConfigError, ShapeError, ValueError } from "../errors.js";
import type { MoELayerReport } from "../moe/aux.js";

/**
 * Routing counts of one MoE layer over a set of tokens sharing a label (an
 * annotation such as `spike`, `seizure`, `rest`, or a prompt set).
 * `counts[e]` = tokens that selected expert e (with top-k routing one token
 * counts for k experts).
 */
export interface RoutingCounts {
  layer: string;
  label: string;
  /** Tokens routed (the denominator of the activation frequency). */
  tokens: number;
  counts: ArrayLike<number>;
}

/** Activation frequency of every expert of one layer for one label. */
export interface ExpertUsage {
  layer: string;
  label: string;
  tokens: number;
  /** frequency[e] = tokens selecting e / tokens. */
  frequency: Float64Array;
}

/**
 * Expert usage per layer and label (fTRI-style): counts of the same (layer,
 * label) are summed, then divided by their tokens. Layers must agree on the
 * number of experts.
 */
export function expertUsage(records: readonly RoutingCounts[]): ExpertUsage[] {
  const acc = new Map<string, { layer: string; label: string; tokens: number; counts: Float64Array }>();
  const experts = new Map<string, number>();
  for (const r of records) {
    if (!(r.tokens >= 0) || !Number.isFinite(r.tokens)) throw new ValueError(`routing counts ${r.layer}/${r.label}: tokens must be ≥ 0, got ${r.tokens}`);
    const e = experts.get(r.layer) ?? r.counts.length;
    if (r.counts.length !== e) throw new ShapeError(`routing counts of ${r.layer}`, [e], [r.counts.length]);
    experts.set(r.layer, e);
    const key = `${r.layer}\u0000${r.label}`;
    const a = acc.get(key) ?? { layer: r.layer, label: r.label, tokens: 0, counts: new Float64Array(e) };
    a.tokens += r.tokens;
    for (let i = 0; i < e; i++) {
      const c = r.counts[i]!;
      if (!(c >= 0)) throw new ValueError(`routing counts ${r.layer}/${r.label}: count of expert ${i} is ${c}`);
      a.counts[i] += c;
    }
    acc.set(key, a);
  }
  return [...acc.values()].map((a) => ({
    layer: a.layer,
    label: a.label,
    tokens: a.tokens,
    frequency: a.counts.map((c) => (a.tokens > 0 ? c / a.tokens : NaN)),
  }));
}

/** One expert ranked by how distinctively it fires for a label. */
export interface LabelExpertScore {
  layer: string;
  expert: number;
  /** a_A − a_B: activation frequency for the label minus that for the rest (risk difference). */
  score: number;
  frequencyA: number;
  frequencyB: number;
}

/**
 * Experts ranked by how much more often they fire for `label` than for
 * `against` (default: all other labels pooled), largest score first. This is
 * the fTRI ranking as a risk difference (MoTE's exact normalisation is not
 * published; see the reference notes).
 */
export function distinctiveExperts(usage: readonly ExpertUsage[], label: string, against?: string): LabelExpertScore[] {
  const layers = [...new Set(usage.map((u) => u.layer))];
  if (!usage.some((u) => u.label === label)) throw new ConfigError("label", `no routing counts for label "${label}"`);
  if (against !== undefined && !usage.some((u) => u.label === against)) throw new ConfigError("against", `no routing counts for label "${against}"`);
  const out: LabelExpertScore[] = [];
  for (const layer of layers) {
    const pooled = (pick: (u: ExpertUsage) => boolean): Float64Array | null => {
      const us = usage.filter((u) => u.layer === layer && pick(u));
      const tokens = us.reduce((s, u) => s + u.tokens, 0);
      if (us.length === 0 || tokens === 0) return null;
      const f = new Float64Array(us[0]!.frequency.length);
      for (const u of us) u.frequency.forEach((v, e) => (f[e] += v * u.tokens));
      return f.map((v) => v / tokens);
    };
    const a = pooled((u) => u.label === label);
    const b = pooled((u) => (against === undefined ? u.label !== label : u.label === against));
    if (!a || !b) continue;
    a.forEach((fa, e) => out.push({ layer, expert: e, score: fa - b[e]!, frequencyA: fa, frequencyB: b[e]! }));
  }
  return out.sort((x, y) => y.score - x.score);
}

/**
 * Routing counts of one forward of an MoE model from the MoE core's per-layer
 * load reports (`collectMoEAux(...).layers`), all tokens under `label`.
 */
export function routingCountsFromReports(reports: readonly MoELayerReport[], label: string): RoutingCounts[] {
  return reports.map((r) => ({ layer: r.name, label, tokens: r.numTokens, counts: r.routed }));
}

/**
 * Routing counts from per-token expert choices: `chosen` is `[tokens, k]`
 * (row-major expert indices), `labels[t]` the label of token t.
 */
export function countRouting(layer: string, chosen: ArrayLike<number>, k: number, numExperts: number, labels: readonly string[]): RoutingCounts[] {
  if (chosen.length !== labels.length * k) throw new ShapeError(`expert choices of ${layer}`, [labels.length, k], [chosen.length]);
  const byLabel = new Map<string, RoutingCounts & { counts: Float64Array }>();
  labels.forEach((label, t) => {
    const rec = byLabel.get(label) ?? { layer, label, tokens: 0, counts: new Float64Array(numExperts) };
    rec.tokens++;
    for (let j = 0; j < k; j++) {
      const e = chosen[t * k + j]!;
      if (!Number.isInteger(e) || e < 0 || e >= numExperts) throw new ValueError(`expert index ${e} of token ${t} outside [0, ${numExperts})`);
      rec.counts[e] += 1;
    }
    byLabel.set(label, rec);
  });
  return [...byLabel.values()];
}
