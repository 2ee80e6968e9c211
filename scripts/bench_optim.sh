#!/usr/bin/env bash
# Per-step cost of every optimizer relative to AdamW: cxr-train bench --optimizers (Burn, flex)
# next to scripts/bench_optim_torch.py (PyTorch CPU), same architecture, input and batch, one
# after the other in one run, 2 threads each.
# Usage: TORCH_PYTHON=/path/to/python scripts/bench_optim.sh [ARCH] [SIZE] [BATCH] [ITERS]
# Writes .bench/optim.json and prints a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-resnet18}; size=${2:-224}; batch=${3:-8}; iters=${4:-3}
py=${TORCH_PYTHON:-python3}
names=adamw,rmsprop,muon,schedule_free_adamw,lion,soap,adan,mars,sam,asam,pesg,pdsca
cargo build --release -p cxr-train >&2
mkdir -p .bench
burn=$(RAYON_NUM_THREADS=2 ./target/release/cxr-train bench --arch "$arch" --size "$size" --batch "$batch" --iters "$iters" --optimizers "$names" 2>/dev/null)
torch=$(BENCH_THREADS=2 "$py" scripts/bench_optim_torch.py "$arch" "$size" "$batch" "$iters" "$names" 2>/dev/null)
echo "{\"burn\": $burn, \"torch\": $torch}" > .bench/optim.json
python3 - .bench/optim.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = {r["optimizer"]: r for r in d["torch"]}
print("| optimizer | Burn s/step | Burn ×AdamW | PyTorch s/step | PyTorch ×AdamW |")
print("| --- | ---: | ---: | ---: | ---: |")
for b in d["burn"]:
    p = t[b["optimizer"]]
    print(f"| {b['optimizer']} | {b['seconds_per_step']:.2f} | {b['relative_to_adamw']:.2f} | {p['seconds_per_step']:.3f} | {p['relative_to_adamw']:.2f} |")
PY
