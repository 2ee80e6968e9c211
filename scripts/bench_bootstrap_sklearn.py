#!/usr/bin/env python3
"""The Python peer of metrics/examples/bench_bootstrap.rs: a scikit-learn loop computing
patient-level bootstrap 95% intervals of AUROC (1,000 replicates, 9 labels, 100,000 predictions
from 30,000 patients). Each replicate draws patients with replacement and passes their
multiplicities as sample_weight to roc_auc_score (equivalent to duplicating rows, and cheaper).
Usage: python3 scripts/bench_bootstrap_sklearn.py [REPLICATES=1000]"""
import sys
import time

import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score

replicates = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
n, patients, labels = 100_000, 30_000, 9
rng = np.random.default_rng(1)
clusters = rng.integers(0, patients, n)
data = []
for _ in range(labels):
    y = rng.random(n) < 0.1
    s = np.round((rng.random(n) + 0.6 * y) * 1000) / 1600
    data.append((s, y))
t0 = time.perf_counter()
for s, y in data:
    aucs = []
    for r in range(replicates):
        w = np.bincount(rng.integers(0, patients, patients), minlength=patients)[clusters]
        aucs.append(roc_auc_score(y, s, sample_weight=w))
    lo, hi = np.percentile(aucs, [2.5, 97.5])
dt = time.perf_counter() - t0
print(f"scikit-learn {sklearn.__version__} loop ({labels} labels × {replicates} replicates, {n} predictions, {patients} patients, 1 thread): {dt:.3f} s")
