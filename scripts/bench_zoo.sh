#!/usr/bin/env bash
# Forward and forward+backward images/s per zoo variant: cxr-train bench (Burn, flex backend)
# next to PyTorch CPU for the same architecture, interleaved in one run, 2 threads each.
# Usage: TORCH_PYTHON=/path/to/python scripts/bench_zoo.sh [SIZE] [BATCH] [ITERS] [ARCH...]
# Writes .bench/zoo.jsonl and prints a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-224}; batch=${2:-8}; iters=${3:-3}; shift $(( $# < 3 ? $# : 3 ))
py=${TORCH_PYTHON:-python3}
cargo build --release -p cxr-train >&2
archs=("$@")
if [ ${#archs[@]} -eq 0 ]; then
  mapfile -t archs < <(./target/release/cxr-train models --json | python3 -c 'import json,sys; print("\n".join(r["name"] for r in json.load(sys.stdin)))')
fi
mkdir -p .bench
out=.bench/zoo.jsonl
: > "$out"
for a in "${archs[@]}"; do
  s=$size
  burn=$(./target/release/cxr-train bench --arch "$a" --size "$s" --batch "$batch" --iters "$iters" 2>/dev/null)
  torch=$(BENCH_THREADS=2 "$py" scripts/bench_zoo_torch.py "$a" "$s" "$batch" "$iters" 1 2>/dev/null)
  echo "{\"burn\": $burn, \"torch\": $torch}" >> "$out"
  echo "$a done" >&2
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| variant | Burn fwd | PyTorch fwd | ratio | Burn fwd+bwd | PyTorch fwd+bwd | ratio |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    b, t = r["burn"], r["torch"]
    f = b["forward_images_per_s"] / t["forward_images_per_s"]
    g = b["forward_backward_images_per_s"] / t["forward_backward_images_per_s"]
    print(f"| {b['arch']} | {b['forward_images_per_s']:.2f} | {t['forward_images_per_s']:.2f} | {f:.2f} | {b['forward_backward_images_per_s']:.2f} | {t['forward_backward_images_per_s']:.2f} | {g:.2f} |")
PY
