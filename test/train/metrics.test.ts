import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  accuracy,
  averagePrecision,
  averagePrecisionOvr,
  balancedAccuracy,
  cohenKappa,
  f1Score,
  pearsonR,
  rocAuc,
  rocAucOvr,
} from "../../src/train/metrics.js";
import { ShapeError, ValueError } from "../../src/errors.js";
import { golden } from "../helpers/shared.js";

interface Case {
  y_true: number[];
  y_pred: number[];
  n_classes: number;
  prob: number[][];
  x: number[];
  t: number[];
  [metric: string]: unknown;
}
const { cases } = JSON.parse(readFileSync(golden("train/metrics.json"), "utf8")) as { cases: Case[] };

describe("metrics equal scikit-learn 1.9", () => {
  it.each(cases.map((c, i) => [i, c] as const))("case %i", (_, c) => {
    expect(accuracy(c.y_true, c.y_pred)).toBeCloseTo(c.accuracy as number, 12);
    expect(balancedAccuracy(c.y_true, c.y_pred)).toBeCloseTo(c.balanced_accuracy as number, 12);
    expect(cohenKappa(c.y_true, c.y_pred)).toBeCloseTo(c.cohen_kappa as number, 12);
    expect(f1Score(c.y_true, c.y_pred, "weighted")).toBeCloseTo(c.f1_weighted as number, 12);
    expect(f1Score(c.y_true, c.y_pred, "macro")).toBeCloseTo(c.f1_macro as number, 12);
    expect(pearsonR(c.x, c.t)).toBeCloseTo(c.pearson_r as number, 12);
    if (c.n_classes === 2) {
      const s = c.prob.map((p) => p[1]!);
      expect(rocAuc(c.y_true, s)).toBeCloseTo(c.auroc as number, 12);
      expect(averagePrecision(c.y_true, s)).toBeCloseTo(c.auc_pr as number, 12);
    } else {
      expect(rocAucOvr(c.y_true, c.prob)).toBeCloseTo(c.auroc as number, 12);
      expect(averagePrecisionOvr(c.y_true, c.prob)).toBeCloseTo(c.auc_pr as number, 12);
    }
  });

  it("knows the closed forms and rejects bad input", () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
    expect(cohenKappa([0, 1, 0, 1], [0, 1, 0, 1])).toBe(1);
    expect(() => rocAuc([1, 1], [0.1, 0.2])).toThrow(ValueError);
    expect(() => accuracy([0, 1], [0])).toThrow(ShapeError);
    expect(() => pearsonR([1, 1, 1], [1, 2, 3])).toThrow(ValueError);
    expect(() => balancedAccuracy([0.5], [0])).toThrow(ValueError);
  });
});
