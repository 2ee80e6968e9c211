#!/usr/bin/env bash
# Preprocessing throughput on one core against the Python peers in the same run: `cxr-data bench`
# (decode + resize + normalize, CLAHE, HDF5 cache reads and builds) and
# scripts/bench_preprocess_python.py (PIL, OpenCV, h5py) on the same files. Every timed Rust
# step but the all-cores cache build is single-threaded code, so cxr-data runs unpinned; the
# Python peers run pinned to CPU 0.
# usage: PYBENCH=/path/to/python scripts/bench_preprocess.sh [MIN_SECONDS=1] [CACHE_IMAGES=600]
#   PYBENCH defaults to a venv in .ort/pybench-preprocess with the pinned peers.
set -euo pipefail
cd "$(dirname "$0")/.."
min_s=${1:-1}
n=${2:-600}
py=${PYBENCH:-}
if [ -z "$py" ]; then
  if [ ! -x .ort/pybench-preprocess/bin/python ]; then
    python3 -m venv .ort/pybench-preprocess
    .ort/pybench-preprocess/bin/pip install --quiet --disable-pip-version-check "pillow==13.0.0" "opencv-python-headless==5.0.0.93" "h5py==3.16.0" "numpy==2.4.6"
  fi
  py=.ort/pybench-preprocess/bin/python
fi
cargo build --release -q -p cxr-data-cli
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
target/release/cxr-data bench --dir "$tmp/in" --cache-images "$n" --min-seconds "$min_s" > "$tmp/rust.json"
taskset -c 0 "$py" scripts/bench_preprocess_python.py "$tmp/rust.json" "$min_s" > "$tmp/py.json"
python3 - "$tmp/rust.json" "$tmp/py.json" <<'PY'
import json, sys
r, p = (json.load(open(f)) for f in sys.argv[1:])
print(f"peers: {p['versions']}")
print(f"{'decode+resize+normalize (images/s, 1 core)':46} {'cxr-data':>10} {'PIL':>10} {'x PIL':>7} {'OpenCV*':>10}")
ocv = next(v for k, v in p.items() if k.startswith("opencv_decode"))
for k, v in r["decode_resize_normalize_images_per_s"].items():
    pv = p["pil_decode_resize_normalize_images_per_s"][k]
    print(f"{k:46} {v:10.1f} {pv:10.1f} {v / pv:7.2f} {ocv[k]:10.1f}")
for k, v in r["clahe_images_per_s"].items():
    pv = p["opencv_clahe_images_per_s"][k]
    print(f"{'CLAHE ' + k + ' px (images/s, 1 core)':46} {v:10.1f} {pv:10.1f} {v / pv:7.2f}  (vs OpenCV)")
hr, hp = r["cache_random_reads_per_s_one_thread"], p["h5py_random_reads_per_s"]
print(f"{'cache random reads at 224 (images/s, 1 core)':46} {hr:10.0f} {hp:10.0f} {hr / hp:7.2f}  (vs h5py)")
print(f"cache build of {r['inputs']['cache_images']} images at 224 (s): {r['cache_build_seconds']}")
print("* OpenCV INTER_LINEAR does not antialias when downscaling; shown for reference only")
PY
