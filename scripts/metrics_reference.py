#!/usr/bin/env python3
"""Reference values for cxr-metrics, written to metrics/tests/fixtures/reference.json:
scikit-learn 1.5.2 (roc_auc_score, average_precision_score, brier_score_loss, precision/recall/f1
at a threshold, confusion_matrix, calibration_curve(n_bins=15, strategy="uniform")), DeLong's
variance by the fast algorithm of yandexdataschool/roc_comparison (compare_auc_delong_xu.py,
re-derived here in numpy), and torchmetrics' BinaryCalibrationError(n_bins=15, norm="l1") binning
(torch.bucketize(p, linspace(0, 1, 16), right=True) − 1) in numpy. Usage:

    pip install scikit-learn==1.5.2 numpy
    python3 scripts/metrics_reference.py > metrics/tests/fixtures/reference.json
"""
import json

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.metrics import (average_precision_score, brier_score_loss, confusion_matrix, f1_score,
                             precision_score, recall_score, roc_auc_score)


def midrank(x):
    j = np.argsort(x, kind="mergesort")
    z = x[j]
    n = len(x)
    t = np.zeros(n)
    i = 0
    while i < n:
        k = i
        while k < n and z[k] == z[i]:
            k += 1
        t[i:k] = 0.5 * (i + k - 1) + 1
        i = k
    out = np.empty(n)
    out[j] = t
    return out


def delong(p, y):
    pos, neg = p[y == 1], p[y == 0]
    m, n = len(pos), len(neg)
    tz = midrank(np.concatenate([pos, neg]))
    tx, ty = midrank(pos), midrank(neg)
    auc = tz[:m].sum() / m / n - (m + 1.0) / 2.0 / n
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return auc, np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n


def ece_torchmetrics(p, y, bins=15):
    edges = np.linspace(0, 1, bins + 1)
    idx = np.searchsorted(edges, p, side="right") - 1
    total = 0.0
    for b in range(bins + 1):
        sel = idx == b
        if sel.any():
            total += sel.mean() * abs(y[sel].mean() - p[sel].mean())
    return total


def case(name, p, y, threshold):
    pred = (p >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    auc_d, var_d = delong(p, y)
    pt, pp = calibration_curve(y, p, n_bins=15, strategy="uniform")
    return {
        "name": name, "scores": p.tolist(), "labels": y.astype(bool).tolist(), "threshold": threshold,
        "auroc": roc_auc_score(y, p), "delong_auc": auc_d, "delong_variance": var_d,
        "average_precision": average_precision_score(y, p), "brier": brier_score_loss(y, p),
        "precision": precision_score(y, pred, zero_division=np.nan),
        "recall": recall_score(y, pred, zero_division=np.nan),
        "f1": f1_score(y, pred, zero_division=np.nan),
        "specificity": tn / (tn + fp), "tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn),
        "ece15": ece_torchmetrics(p, y), "reliability_true": pt.tolist(), "reliability_pred": pp.tolist(),
    }


rng = np.random.default_rng(20261125)
cases = []
y = rng.random(300) < 0.3
p = np.clip(np.round(0.3 * y + 0.7 * rng.random(300) ** 1.5, 2), 0, 1)
cases.append(case("ties_n300", p, y.astype(int), 0.5))
y = np.array([0, 1] * 12 + [1])
p = np.round(rng.random(25) * 4) / 4
cases.append(case("heavy_ties_n25", p, y, 0.5))
y = (rng.random(500) < 0.05).astype(int)
p = 1 / (1 + np.exp(-(rng.normal(size=500) + 1.5 * y - 2.5)))
cases.append(case("imbalanced_n500", p, y, 0.2))
print(json.dumps({"generator": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}", "cases": cases}, indent=1))
