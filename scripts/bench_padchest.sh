#!/usr/bin/env bash
# Reading and harmonizing the full PadChest CSV (160,861 rows, .csv.gz) on one core:
# `cxr-data summary --dataset padchest` against pandas doing the same (read_csv + the same rules,
# scripts/bench_padchest_pandas.py), in the same run. Both pinned to CPU 0; best of REPEAT runs.
# Also checks that the two produce identical label counts.
# usage: scripts/bench_padchest.sh [PADCHEST_CSV(.gz)] [REPEAT=5]
set -euo pipefail
cd "$(dirname "$0")/.."
csv=${1:-${CXR_SHARED_DIR:-../shared}/data/meta/PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz}
repeat=${2:-5}
if [ ! -d .ort/pybench-pandas/pandas ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target .ort/pybench-pandas "pandas==2.2.3" "numpy<3"
fi
cargo build --release --bins -q
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
best=999
for _ in $(seq "$repeat"); do
  t0=$(date +%s.%N)
  taskset -c 0 target/release/cxr-data summary --dataset padchest --root "$tmp" --labels "$csv" > "$tmp/rust.json"
  t1=$(date +%s.%N)
  best=$(python3 -c "print(min($best, $t1 - $t0))")
done
echo "cxr-data summary (Rust, 1 core): best of $repeat: $(printf %.3f "$best") s"
PYTHONPATH=.ort/pybench-pandas taskset -c 0 python3 scripts/bench_padchest_pandas.py "$csv" --repeat "$repeat" > "$tmp/pandas.json"
python3 - "$tmp/rust.json" "$tmp/pandas.json" <<'PY'
import json, sys
r, p = (json.load(open(f)) for f in sys.argv[1:])
same = r["labels"] == p["labels"] and all(r[k] == p[k] for k in ("images", "frontal_images", "patients"))
print("identical counts:", same)
sys.exit(0 if same else 1)
PY
