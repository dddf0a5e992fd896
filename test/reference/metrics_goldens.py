"""Golden metric values from scikit-learn for test/train/metrics.test.ts.

Run: /work/venv/bin/python test/reference/metrics_goldens.py  (scikit-learn 1.9, numpy, scipy)
Inputs are generated here with a fixed seed and stored next to the expected values, with
deliberate ties in the scores (sklearn's tie handling is part of the contract).
"""
import json
import os

import numpy as np
import scipy.stats
import sklearn
from sklearn import metrics

rng = np.random.default_rng(1234)
cases = []
for case in range(6):
    n = int(rng.integers(20, 80))
    k = [2, 2, 3, 4, 5, 2][case]
    y = rng.integers(0, k, n)
    # Predictions that agree with y more often than chance.
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    logits = np.round(logits, 1)  # ties
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    x = rng.normal(size=n)
    t = 0.7 * x + rng.normal(size=n) * 0.5
    c = {
        "y_true": y.tolist(),
        "y_pred": pred.tolist(),
        "n_classes": k,
        "prob": prob.tolist(),
        "x": x.tolist(),
        "t": t.tolist(),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
        "accuracy": metrics.accuracy_score(y, pred),
        "cohen_kappa": metrics.cohen_kappa_score(y, pred),
        "f1_weighted": metrics.f1_score(y, pred, average="weighted"),
        "f1_macro": metrics.f1_score(y, pred, average="macro"),
        "pearson_r": float(scipy.stats.pearsonr(x, t)[0]),
    }
    if k == 2:
        c["auroc"] = metrics.roc_auc_score(y, prob[:, 1])
        c["auc_pr"] = metrics.average_precision_score(y, prob[:, 1])
    else:
        c["auroc"] = metrics.roc_auc_score(y, prob, multi_class="ovr", average="macro")
        c["auc_pr"] = metrics.average_precision_score(np.eye(k)[y], prob, average="macro")
    cases.append(c)

out = os.path.join(os.path.dirname(__file__), "..", "golden", "train", "metrics.json")
with open(out, "w") as f:
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)
print("wrote", out)
