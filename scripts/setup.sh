#!/usr/bin/env bash
# Idempotent setup for a fresh Debian machine (run by the README commands themselves):
#   1. apt packages the build needs (as root; otherwise prints the exact command),
#   2. ONNX Runtime's shared library from one pinned PyPI wheel, checksum-verified, into ./.ort/lib,
#   3. (optional, --with-onnx-checker) the pinned Python `onnx` package into ./.ort/py for the
#      ONNX checker test.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.31.1
WHEEL="onnxruntime-${ORT_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"
SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
ONNX_VERSION=1.19.1

log() { echo "setup: $*" >&2; }

# 1. System packages. Only pkg-config is needed today (no C library is linked at build time);
#    the list lives here so later features (HDF5 cache) add to one place.
APT_PACKAGES=(pkg-config)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing apt packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "missing apt packages; run: sudo apt-get install -y ${missing[*]}"
  fi
fi

# 2. ONNX Runtime from the wheel (the .so inside is Python-free; the platform tag is fixed so the
#    choice does not depend on the local Python).
lib=".ort/lib/libonnxruntime.so.${ORT_VERSION}"
if [ ! -f "$lib" ]; then
  mkdir -p .ort/wheels .ort/lib
  if [ ! -f ".ort/wheels/${WHEEL}" ]; then
    log "downloading onnxruntime==${ORT_VERSION} (${WHEEL})"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
      --python-version 3.11 --implementation cp --abi cp311 "onnxruntime==${ORT_VERSION}" -d .ort/wheels
  fi
  echo "${SHA256}  .ort/wheels/${WHEEL}" | sha256sum -c --quiet - || {
    log "checksum mismatch for .ort/wheels/${WHEEL}; delete it and rerun"; exit 1; }
  tmp=$(mktemp -d .ort/unpack.XXXXXX)
  python3 - "$tmp" ".ort/wheels/${WHEEL}" <<'PY'
import os, sys, zipfile
out, wheel = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(wheel)
for n in z.namelist():
    if n.startswith("onnxruntime/capi/lib") and ".so" in n:
        with open(os.path.join(out, os.path.basename(n)), "wb") as f:
            f.write(z.read(n))
PY
  # Move into place last, so an interrupted setup never leaves a half-written library behind.
  for f in "$tmp"/*; do mv -f "$f" .ort/lib/; done
  rmdir "$tmp"
  ln -sf "libonnxruntime.so.${ORT_VERSION}" .ort/lib/libonnxruntime.so
fi
log "ONNX Runtime ${ORT_VERSION} at ${lib}"

# 3. The Python ONNX checker (tests use it when present; CI requires it).
if [ "${1:-}" = "--with-onnx-checker" ]; then
  if [ ! -f ".ort/py/onnx/__init__.py" ]; then
    log "installing onnx==${ONNX_VERSION} into .ort/py"
    python3 -m pip install --quiet --disable-pip-version-check --target .ort/py "onnx==${ONNX_VERSION}"
  fi
  log "onnx checker: $(PYTHONPATH=.ort/py python3 -c 'import onnx; print(onnx.__version__)')"
fi
