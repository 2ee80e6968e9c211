#!/usr/bin/env bash
# The evaluator's performance claims, each against its peer in the same run on the same machine:
#  1. inference alone: cxr-eval bench vs Python onnxruntime, DenseNet-121 at 224 (1 channel),
#     batch 1 and 8, 2 threads, median of REPEAT runs;
#  2. end to end from image files: cxr-eval bench --dataset (decode, preprocess, infer) vs its own
#     inference-only figure, and vs a torchxrayvision-style PyTorch DataLoader pipeline
#     (scripts/bench_torch_pipeline.py) on the same PNGs and the same architecture.
# usage: scripts/bench_evaluator.sh [REPEAT=5] [SECONDS=3]
# Needs a Python with torch, torchvision and pillow for step 2: set TORCH_PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${1:-5}; seconds=${2:-3}
py=${TORCH_PYTHON:-python3}
scripts/setup.sh
if [ ! -d .ort/pybench/onnxruntime ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target .ort/pybench "onnxruntime==1.31.1" "numpy<3"
fi
export ORT_DYLIB_PATH="$PWD/.ort/lib/libonnxruntime.so.1.31.1"
cargo build --release --bins -q
mkdir -p .bench
model=.bench/densenet121-224/model.onnx
[ -f "$model" ] || cargo run --release -q -p cxr-export --example export_untrained -- densenet121 224 1 .bench/densenet121-224
data=.bench/phantom-512
[ -d "$data/nih/images" ] || target/release/cxr-data phantom "$data" --size 512 --train-patients 2 --valid-patients 2 --nih-patients 120 \
  --mimic-patients 2 --padchest-patients 2 --vindr-images 2 --brax-patients 2 >/dev/null
out=.bench/evaluator; mkdir -p "$out"; rm -f "$out"/*.json
for i in $(seq "$repeat"); do
  target/release/cxr-eval bench --model "$model" --batch 1,8 --seconds "$seconds" --warmup 2 --min-runs 3 --threads 2 > "$out/rust-inference-$i.json" 2>/dev/null
  PYTHONPATH=.ort/pybench python3 scripts/bench_python_ort.py "$model" 1,8 "$seconds" 2 2 3 > "$out/python-inference-$i.json"
done
for i in $(seq 3); do
  target/release/cxr-eval bench --model "$model" --batch 8 --seconds "$seconds" --warmup 2 --min-runs 3 --threads 2 \
    --dataset "nih=$data/nih" > "$out/rust-e2e-$i.json" 2>/dev/null
  "$py" scripts/bench_torch_pipeline.py "$data/nih/images" 8 2 2 1 > "$out/torch-e2e-$i.json"
done
python3 - "$out" "$repeat" <<'PY'
import json, statistics, sys
out, repeat = sys.argv[1], int(sys.argv[2])
load = lambda n: json.load(open(f"{out}/{n}.json"))
med = statistics.median
print("inference alone (DenseNet-121, 224, 1 channel, 2 threads), median of", repeat)
for b in (1, 8):
    r = med(p["images_per_second"] for i in range(1, repeat + 1) for p in load(f"rust-inference-{i}")["points"] if p["batch"] == b)
    q = med(p["images_per_second"] for i in range(1, repeat + 1) for p in load(f"python-inference-{i}")["points"] if p["batch"] == b)
    pair = med(next(p["images_per_second"] for p in load(f"rust-inference-{i}")["points"] if p["batch"] == b)
               / next(p["images_per_second"] for p in load(f"python-inference-{i}")["points"] if p["batch"] == b) for i in range(1, repeat + 1))
    print(f"  batch {b}: cxr-eval {r:.2f} img/s, python onnxruntime {q:.2f} img/s, ratio of medians {r / q:.3f}, median of paired ratios {pair:.3f}")
inf = med(p["images_per_second"] for i in range(1, 4) for p in load(f"rust-e2e-{i}")["points"] if p["mode"] == "inference")
e2e = med(p["images_per_second"] for i in range(1, 4) for p in load(f"rust-e2e-{i}")["points"] if p["mode"] == "end_to_end")
tor = med(load(f"torch-e2e-{i}")["images_per_second"] for i in range(1, 4))
print("end to end from 512 px PNGs, batch 8, median of 3")
print(f"  cxr-eval end to end {e2e:.2f} img/s; its inference alone {inf:.2f} img/s; ratio {e2e / inf:.3f}")
print(f"  torch DataLoader pipeline {tor:.2f} img/s; cxr-eval / torch {e2e / tor:.2f}")
PY
