#!/usr/bin/env bash
# Patient-level bootstrap intervals (1,000 replicates, 9 labels, 100,000 predictions): cxr-metrics
# (metrics/examples/bench_bootstrap.rs, 2 threads and 1 thread) against a scikit-learn loop
# (scripts/bench_bootstrap_sklearn.py), in the same run on the same machine.
# usage: scripts/bench_bootstrap.sh [REPLICATES_FOR_SKLEARN=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d .ort/pybench-sklearn/sklearn ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target .ort/pybench-sklearn "scikit-learn==1.5.2" "numpy<3"
fi
cargo build --release -q -p cxr-metrics --example bench_bootstrap
target/release/examples/bench_bootstrap 3 2>/dev/null
RAYON_NUM_THREADS=1 target/release/examples/bench_bootstrap 3 2>/dev/null
PYTHONPATH=.ort/pybench-sklearn python3 scripts/bench_bootstrap_sklearn.py "${1:-1000}"
