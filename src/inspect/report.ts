import { contributionByLayer } from "./contribution.js";
import { massiveFromTable, type MassiveOptions } from "./massive.js";
import type { NamePattern } from "./patterns.js";
import { groupRows, moduleOrder, type ActivationTable } from "./records.js";
import { sparsityByLayer } from "./sparsity.js";
import { barPanelsSvg } from "../plot/bars.js";
import { voidsFromTable } from "./voids.js";

/** One module's line in an activation report. */
export interface ModuleSummary {
  module: string;
  calls: number;
  rows: number;
  width: number;
  meanL2: number;
  maxAbs: number;
  /** Mean fraction of features ≠ 0. */
  nonzeroFraction: number;
  /** Mean fraction of features > 0 (lazy-neuron measure for ReLU inputs). */
  positiveFraction: number;
  /** Mean ‖out − in‖ / ‖in‖ (NaN when input and output shapes differ). */
  relativeContribution: number;
  /** LAC void fraction (NaN for modules outside the residual layers). */
  voidFraction: number;
  /** Massive activations flagged in the module's outputs (NaN when recorded without medians). */
  massive: number;
}

/** Options of `summarizeActivations`. */
export interface SummaryOptions extends MassiveOptions {
  /** Residual layers for LAC voids (default: modules whose input and output shapes agree and that lie inside no other such module). */
  layers?: string[] | NamePattern;
  /** LAC threshold factor (default 0.8). */
  alpha?: number;
}

/** Residual layers of a table: same-shaped in/out modules not nested in another one. */
export function residualLayers(t: ActivationTable): string[] {
  const rows = groupRows(t.module.length, (r) => t.module[r]!);
  const same = moduleOrder(t).filter((m) => rows.get(m)!.every((r) => !Number.isNaN(t.inL2[r]!)));
  return same.filter((m) => !same.some((o) => o !== m && m.startsWith(`${o}.`)));
}

/** Per-module summary of recorded activations, in call order. */
export function summarizeActivations(t: ActivationTable, opts: SummaryOptions = {}): ModuleSummary[] {
  const groups = groupRows(t.module.length, (r) => t.module[r]!);
  const sparsity = new Map(sparsityByLayer(t).map((s) => [s.module, s]));
  const contribution = new Map(contributionByLayer(t).map((c) => [c.module, c]));
  // Summary records without medians cannot be judged for massive activations.
  const massive = t.meta.median || t.values.every((v) => v !== null) ? massiveFromTable(t, opts).flags : null;
  const layers = opts.layers ?? residualLayers(t);
  const voidFraction = new Map<string, number>();
  if (!Array.isArray(layers) || layers.length > 0) {
    const v = voidsFromTable(t, { layers, alpha: opts.alpha });
    v.layers.forEach((l, i) => voidFraction.set(l, v.voidFraction[i]!));
  }
  return [...groups].map(([module, rows]) => {
    let l2 = 0;
    let maxAbs = 0;
    for (const r of rows) {
      l2 += t.l2[r]!;
      maxAbs = Math.max(maxAbs, t.maxAbs[r]!);
    }
    const s = sparsity.get(module)!;
    return {
      module,
      calls: new Set(rows.map((r) => t.call[r]!)).size,
      rows: rows.length,
      width: t.width[rows[0]!]!,
      meanL2: l2 / rows.length,
      maxAbs,
      nonzeroFraction: s.nonzeroFraction,
      positiveFraction: s.positiveFraction,
      relativeContribution: contribution.get(module)?.relative ?? NaN,
      voidFraction: voidFraction.get(module) ?? NaN,
      massive: massive ? massive.filter((f) => f.module === module).length : NaN,
    };
  });
}

/** The summary as aligned text, one module per line. */
export function formatSummary(s: readonly ModuleSummary[]): string {
  const w = Math.max(6, ...s.map((m) => m.module.length));
  const f = (v: number) => (Number.isNaN(v) ? "-" : v.toFixed(3));
  const head = [
    "module".padEnd(w),
    "calls".padStart(5),
    "rows".padStart(6),
    "width".padStart(6),
    "mean L2".padStart(10),
    "max |x|".padStart(10),
    "nonzero".padStart(7),
    "positive".padStart(9),
    "contrib".padStart(8),
    "void".padStart(5),
    "massive".padStart(8),
  ].join("  ");
  const lines = s.map((m) =>
    [
      m.module.padEnd(w),
      String(m.calls).padStart(5),
      String(m.rows).padStart(6),
      String(m.width).padStart(6),
      m.meanL2.toPrecision(4).padStart(10),
      m.maxAbs.toPrecision(4).padStart(10),
      f(m.nonzeroFraction).padStart(7),
      f(m.positiveFraction).padStart(9),
      f(m.relativeContribution).padStart(8),
      f(m.voidFraction).padStart(5),
      (Number.isNaN(m.massive) ? "-" : String(m.massive)).padStart(8),
    ].join("  "),
  );
  return `${[head, ...lines].join("\n")}\n`;
}

/** SVG of per-layer activity: void fraction, relative contribution, positive fraction and mean L2 per module. */
export function summarySvg(s: readonly ModuleSummary[], title = "per-layer activity"): string {
  const panel = (name: string, pick: (m: ModuleSummary) => number, max?: number) => ({
    title: name,
    bars: s.map((m) => ({ label: m.module, value: pick(m) })),
    max,
  });
  return barPanelsSvg(
    [
      panel("void fraction (LAC)", (m) => m.voidFraction, 1),
      panel("relative contribution", (m) => m.relativeContribution),
      panel("fraction > 0", (m) => m.positiveFraction, 1),
      panel("mean L2 norm", (m) => m.meanL2),
    ],
    { title },
  );
}
