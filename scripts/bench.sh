#!/usr/bin/env bash
# Inference throughput of an exported model: cxr-eval bench (Rust, ort) against the Python peer
# (onnxruntime's Python API) in the same run, same machine, same settings.
# usage: scripts/bench.sh RUN_DIR/model.onnx [BATCHES=1,8] [SECONDS=5] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: scripts/bench.sh MODEL.onnx [BATCHES] [SECONDS] [THREADS]}
batches=${2:-1,8}; seconds=${3:-5}; threads=${4:-2}
scripts/setup.sh
if [ ! -d .ort/pybench/onnxruntime ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target .ort/pybench "onnxruntime==1.31.1" "numpy<3"
fi
cargo build --release --bins -q
export ORT_DYLIB_PATH="$PWD/.ort/lib/libonnxruntime.so.1.31.1"
echo "== cxr-eval bench (Rust, ort 2.0.0-rc.15, ONNX Runtime 1.31.1)"
target/release/cxr-eval bench --model "$model" --batch "$batches" --seconds "$seconds" --threads "$threads"
echo "== Python onnxruntime"
PYTHONPATH=.ort/pybench python3 scripts/bench_python_ort.py "$model" "$batches" "$seconds" "$threads"
