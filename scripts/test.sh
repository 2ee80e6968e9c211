#!/usr/bin/env bash
# The test command: set up, build every binary (the end-to-end tests run them as separate
# processes), then run every test of the workspace in the release profile.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-onnx-checker --with-dicom-samples
export ORT_DYLIB_PATH="$PWD/.ort/lib/libonnxruntime.so.1.31.1"
export CXR_ONNX_PYTHONPATH="$PWD/.ort/py"
cargo build --release --bins
cargo test --release --workspace --no-fail-fast "$@"
