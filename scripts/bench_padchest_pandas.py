#!/usr/bin/env python3
"""The Python peer of `cxr-data summary --dataset padchest`: read the PadChest 160K CSV with
pandas and apply the same harmonization rules (datasets.md §3: ast.literal_eval, strip, drop '',
null or only '' → all missing, exact element match, frontal = Projection in PA/AP/AP_horizontal).
Prints the counts as JSON (the same numbers the Rust reader must give; tests/it/real_csv.rs holds
them) and the best wall time over --repeat runs on stderr. Single-threaded, like the Rust run
it is compared with (`taskset -c 0`). Usage:

    python3 scripts/bench_padchest_pandas.py PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz [--repeat 3]
"""
import argparse
import ast
import json
import sys
import time

import pandas as pd

LABELS = {
    "No Finding": ["normal"],
    "Cardiomegaly": ["cardiomegaly"],
    "Atelectasis": ["atelectasis", "atelectasis basal", "laminar atelectasis", "lobar atelectasis",
                    "segmental atelectasis", "round atelectasis", "total atelectasis"],
    "Consolidation": ["consolidation"],
    "Pleural Effusion": ["pleural effusion", "loculated pleural effusion", "loculated fissural effusion",
                         "hydropneumothorax", "empyema"],
    "Pneumothorax": ["pneumothorax", "hydropneumothorax"],
    "Pneumonia": ["pneumonia", "atypical pneumonia"],
    "Edema": ["pulmonary edema"],
    "Lung Lesion": ["nodule", "multiple nodules", "mass", "pulmonary mass"],
}


def tokens(cell):
    if not isinstance(cell, str) or cell == "nan":
        return None
    t = {x.strip() for x in ast.literal_eval(cell)} - {""}
    return t or None


def harmonize(path):
    df = pd.read_csv(path, low_memory=False, dtype={"PatientID": str, "StudyID": str})
    toks = df["Labels"].map(tokens)
    frontal = df["Projection"].isin(["PA", "AP", "AP_horizontal"])
    out = {"images": int(len(df)), "frontal_images": int(frontal.sum()),
           "patients": int(df["PatientID"].nunique()), "labels": {"all": {}, "frontal": {}}}
    missing = toks.isna()
    for name, words in LABELS.items():
        words = set(words)
        pos = toks.map(lambda t: t is not None and not t.isdisjoint(words))
        for scope, mask in (("all", slice(None)), ("frontal", frontal)):
            p, m = pos[mask], missing[mask]
            out["labels"][scope][name] = {"positive": int(p.sum()), "negative": int((~p & ~m).sum()),
                                          "uncertain": 0, "missing": int(m.sum())}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    best = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        out = harmonize(a.csv)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps(out, indent=1, sort_keys=True))
    print(f"pandas {pd.__version__}: best of {a.repeat}: {best:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
