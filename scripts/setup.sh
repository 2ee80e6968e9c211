#!/usr/bin/env bash
# Idempotent setup for a fresh Debian machine (run by the README commands themselves):
#   1. apt packages the build needs (as root; otherwise prints the exact command),
#   2. ONNX Runtime's shared library from one pinned PyPI wheel, checksum-verified, into ./.ort/lib,
#   3. (optional, --with-onnx-checker) the pinned Python `onnx` package into ./.ort/py for the
#      ONNX checker test,
#   4. (optional, --with-dicom-samples) a few public DICOM test files (JPEG 2000, 12-bit JPEG
#      Extended, multi-frame) from the pinned, checksum-verified pydicom wheel into
#      ./.testdata/dicom for the decoder tests.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.31.1
WHEEL="onnxruntime-${ORT_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"
SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
ONNX_VERSION=1.19.1
PYDICOM_WHEEL=pydicom-3.0.1-py3-none-any.whl
PYDICOM_SHA256=db32f78b2641bd7972096b8289111ddab01fb221610de8d7afa835eb938adb41
DICOM_SAMPLES=(MR_small.dcm MR_small_jp2klossless.dcm JPGExtended.dcm rtdose.dcm)

log() { echo "setup: $*" >&2; }

# 1. System packages: pkg-config and Debian's libhdf5 for the HDF5 image cache (training and
#    cxr-data link it; the evaluator's default build does not).
APT_PACKAGES=(pkg-config libhdf5-dev)
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
if [[ " $* " == *" --with-onnx-checker "* ]]; then
  if [ ! -f ".ort/py/onnx/__init__.py" ]; then
    log "installing onnx==${ONNX_VERSION} into .ort/py"
    python3 -m pip install --quiet --disable-pip-version-check --target .ort/py "onnx==${ONNX_VERSION}"
  fi
  log "onnx checker: $(PYTHONPATH=.ort/py python3 -c 'import onnx; print(onnx.__version__)')"
fi

# 4. DICOM samples (tests use them when present; CI requires them).
if [[ " $* " == *" --with-dicom-samples "* ]]; then
  if [ ! -f ".testdata/dicom/${DICOM_SAMPLES[-1]}" ]; then
    mkdir -p .ort/wheels .testdata
    if [ ! -f ".ort/wheels/${PYDICOM_WHEEL}" ]; then
      log "downloading ${PYDICOM_WHEEL} (for its test files)"
      python3 -m pip download --quiet --no-deps --only-binary=:all: "pydicom==3.0.1" -d .ort/wheels
    fi
    echo "${PYDICOM_SHA256}  .ort/wheels/${PYDICOM_WHEEL}" | sha256sum -c --quiet - || {
      log "checksum mismatch for .ort/wheels/${PYDICOM_WHEEL}; delete it and rerun"; exit 1; }
    tmp=$(mktemp -d .testdata/unpack.XXXXXX)
    python3 - "$tmp" ".ort/wheels/${PYDICOM_WHEEL}" "${DICOM_SAMPLES[@]}" <<'PY'
import os, sys, zipfile
out, wheel, names = sys.argv[1], sys.argv[2], sys.argv[3:]
z = zipfile.ZipFile(wheel)
for n in names:
    with open(os.path.join(out, n), "wb") as f:
        f.write(z.read("pydicom/data/test_files/" + n))
PY
    rm -rf .testdata/dicom && mv "$tmp" .testdata/dicom
  fi
  log "DICOM samples in .testdata/dicom"
fi
