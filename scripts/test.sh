#!/usr/bin/env bash
# The test command: set up, build every binary (the end-to-end tests run them as separate
# processes), then run every test of the workspace in the release profile.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-onnx-checker --with-dicom-samples
export ORT_DYLIB_PATH="$PWD/.ort/lib/libonnxruntime.so.1.31.1"
export CXR_ONNX_PYTHONPATH="$PWD/.ort/py"
# The evaluator with its HDF5 cache feature: the tests run `cxr-eval run --cache`. (A hospital
# inference box builds it without; tests/it/boundaries.rs checks that build links no libhdf5.)
cargo build --release --bins --features cxr-evaluate/cache
cargo test --release --workspace --no-fail-fast "$@"
