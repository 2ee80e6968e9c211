#!/usr/bin/env bash
# The main job: the phantom external-validation study end to end (set up, build, run).
# Extra arguments go to `cxr-study run` (e.g. --shortcut Pneumothorax, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --bins
export ORT_DYLIB_PATH="$PWD/.ort/lib/libonnxruntime.so.1.31.1"
exec target/release/cxr-study run "$@"
