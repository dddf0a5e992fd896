/**
 * Evaluation metrics used by the reference papers, with scikit-learn's exact
 * definitions (tie handling, zero-division and label sets included), so that
 * numbers reported by neurocode compare directly with published tables.
 * Labels are integer class indices; scores are per-class probabilities.
 */
import { ShapeError, ValueError } from "../errors.js";

type Labels = ArrayLike<number>;

function checkPair(a: { length: number }, b: { length: number }, what: string): void {
  if (a.length !== b.length) throw new ShapeError(what, [a.length], [b.length]);
  if (a.length === 0) throw new ValueError(`${what}: no samples`);
}

function sortedLabels(...ys: Labels[]): number[] {
  const s = new Set<number>();
  for (const y of ys) for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (!Number.isInteger(v)) throw new ValueError(`labels must be integers, got ${v} at index ${i}`);
    s.add(v);
  }
  return [...s].sort((a, b) => a - b);
}

/** Confusion matrix over the sorted union of labels: `m[t][p]` counts true t predicted p. */
export function confusionMatrix(yTrue: Labels, yPred: Labels): { labels: number[]; matrix: number[][] } {
  checkPair(yTrue, yPred, "confusionMatrix");
  const labels = sortedLabels(yTrue, yPred);
  const at = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => new Array<number>(labels.length).fill(0));
  for (let i = 0; i < yTrue.length; i++) matrix[at.get(yTrue[i]!)!]![at.get(yPred[i]!)!]!++;
  return { labels, matrix };
}

/** Fraction of correct predictions. */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  checkPair(yTrue, yPred, "accuracy");
  let ok = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) ok++;
  return ok / yTrue.length;
}

/** Mean per-class recall over classes present in `yTrue` (sklearn `balanced_accuracy_score`). */
export function balancedAccuracy(yTrue: Labels, yPred: Labels): number {
  const { matrix } = confusionMatrix(yTrue, yPred);
  let sum = 0;
  let n = 0;
  matrix.forEach((row, i) => {
    const support = row.reduce((a, b) => a + b, 0);
    if (support > 0) {
      sum += row[i]! / support;
      n++;
    }
  });
  return sum / n;
}

/** Cohen's kappa, unweighted (sklearn `cohen_kappa_score`). */
export function cohenKappa(yTrue: Labels, yPred: Labels): number {
  const { matrix } = confusionMatrix(yTrue, yPred);
  const k = matrix.length;
  const total = yTrue.length;
  const rows = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const cols = matrix[0]!.map((_, j) => matrix.reduce((a, r) => a + r[j]!, 0));
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (i === j) continue;
      observed += matrix[i]![j]!;
      expected += (rows[i]! * cols[j]!) / total;
    }
  }
  return 1 - observed / expected;
}

/**
 * F1 score over the sorted union of labels, with 0 for classes whose
 * precision or recall is undefined (sklearn's `zero_division=0` result).
 * `weighted` weights by true support, `macro` averages classes equally.
 */
export function f1Score(yTrue: Labels, yPred: Labels, average: "weighted" | "macro" = "weighted"): number {
  const { matrix } = confusionMatrix(yTrue, yPred);
  let acc = 0;
  let wsum = 0;
  matrix.forEach((row, i) => {
    const tp = row[i]!;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, r) => a + r[i]!, 0);
    const f1 = support + predicted === 0 ? 0 : (2 * tp) / (support + predicted);
    const w = average === "weighted" ? support : 1;
    acc += w * f1;
    wsum += w;
  });
  return wsum === 0 ? 0 : acc / wsum;
}

function checkBinary(yTrue: Labels, scores: ArrayLike<number>, what: string): { pos: number; neg: number } {
  checkPair(yTrue, scores, what);
  let pos = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] !== 0 && yTrue[i] !== 1) throw new ValueError(`${what}: binary labels must be 0 or 1, got ${yTrue[i]} at index ${i}`);
    if (Number.isNaN(scores[i]!)) throw new ValueError(`${what}: score at index ${i} is NaN`);
    pos += yTrue[i]!;
  }
  const neg = yTrue.length - pos;
  if (pos === 0 || neg === 0) throw new ValueError(`${what}: needs both classes in y_true`);
  return { pos, neg };
}

/** Indices sorted by score, descending (stable). */
function byScoreDesc(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/**
 * Area under the ROC curve for binary labels (0/1) and scores of class 1.
 * Ties count half, which equals sklearn's trapezoidal `roc_auc_score`.
 */
export function rocAuc(yTrue: Labels, scores: ArrayLike<number>): number {
  const { pos, neg } = checkBinary(yTrue, scores, "rocAuc");
  const order = byScoreDesc(scores);
  // Walk tie groups from the top: each negative outranks the positives below it.
  let auc = 0;
  let posAbove = 0;
  for (let g = 0; g < order.length; ) {
    let e = g;
    let p = 0;
    let n = 0;
    while (e < order.length && scores[order[e]!] === scores[order[g]!]) {
      if (yTrue[order[e]!] === 1) p++;
      else n++;
      e++;
    }
    auc += n * (posAbove + p / 2);
    posAbove += p;
    g = e;
  }
  return auc / (pos * neg);
}

/**
 * Average precision (area under the precision-recall curve as sklearn's
 * `average_precision_score` computes it: Σ (R_n − R_{n−1}) P_n over distinct thresholds).
 */
export function averagePrecision(yTrue: Labels, scores: ArrayLike<number>): number {
  const { pos } = checkBinary(yTrue, scores, "averagePrecision");
  const order = byScoreDesc(scores);
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let g = 0; g < order.length; ) {
    let e = g;
    while (e < order.length && scores[order[e]!] === scores[order[g]!]) {
      if (yTrue[order[e]!] === 1) tp++;
      else fp++;
      e++;
    }
    const recall = tp / pos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
    g = e;
  }
  return ap;
}

/** One-vs-rest macro average of a binary score over the columns of `probs` (`[n][nClasses]`). */
function oneVsRest(yTrue: Labels, probs: ArrayLike<number>[], f: (y: Labels, s: ArrayLike<number>) => number): number {
  checkPair(yTrue, probs, "probabilities");
  const k = probs[0]!.length;
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const y = Array.from(yTrue, (v) => (v === c ? 1 : 0));
    const s = probs.map((p) => p[c]!);
    sum += f(y, s);
  }
  return sum / k;
}

/** Multi-class AUROC, one-vs-rest, macro-averaged (sklearn `roc_auc_score(..., multi_class="ovr")`). */
export function rocAucOvr(yTrue: Labels, probs: ArrayLike<number>[]): number {
  return oneVsRest(yTrue, probs, rocAuc);
}

/** Multi-class AUC-PR, one-vs-rest, macro-averaged (sklearn `average_precision_score` on one-hot labels). */
export function averagePrecisionOvr(yTrue: Labels, probs: ArrayLike<number>[]): number {
  return oneVsRest(yTrue, probs, averagePrecision);
}

/** Pearson correlation coefficient of two equally long series. */
export function pearsonR(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, "pearsonR");
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) throw new ValueError("pearsonR: a constant series has no correlation");
  return sxy / Math.sqrt(sxx * syy);
}
