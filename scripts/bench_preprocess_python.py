#!/usr/bin/env python3
"""The Python peers of `cxr-data bench` on the very files it wrote (one core; run pinned):
PIL decode + bilinear resize + ImageNet normalization to 224 and 512 (what a torchvision
pipeline does), OpenCV's decode + resize for reference, OpenCV CLAHE, and h5py random reads of the
cache. Prints JSON with the same keys.

usage: bench_preprocess_python.py RUST_JSON [MIN_SECONDS]
"""
import json
import sys
import time

import cv2
import h5py
import numpy as np
from PIL import Image

cv2.setNumThreads(1)
MEAN = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
STD = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]


def rate(min_s, f):
    f()
    best = 0.0
    for _ in range(3):
        t0, n = time.perf_counter(), 0
        while n == 0 or time.perf_counter() - t0 < min_s:
            f()
            n += 1
        best = max(best, n / (time.perf_counter() - t0))
    return best


def pil_pipeline(path, size):
    img = Image.open(path)
    if img.mode in ("I;16", "I;16B", "I"):
        arr = np.asarray(img, dtype=np.float32) / 65535.0
        small = np.asarray(Image.fromarray(arr, mode="F").resize((size, size), Image.BILINEAR))
    else:
        small = np.asarray(img.convert("L").resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0
    x = (np.broadcast_to(small, (3, size, size)) - MEAN) / STD
    return x


def cv2_pipeline(path, size):
    a = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    scale = 65535.0 if a.dtype == np.uint16 else 255.0
    small = cv2.resize(a, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32) / scale
    return (np.broadcast_to(small, (3, size, size)) - MEAN) / STD


def main():
    rust = json.load(open(sys.argv[1]))
    min_s = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    inputs = rust["inputs"]
    pil, ocv = {}, {}
    for name in ("jpeg", "png8", "png16"):
        for size in (224, 512):
            pil[f"{name}_{size}"] = rate(min_s, lambda: pil_pipeline(inputs[name], size))
            ocv[f"{name}_{size}"] = rate(min_s, lambda: cv2_pipeline(inputs[name], size))
    src = cv2.imread(inputs["png8"], cv2.IMREAD_UNCHANGED)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    cl = {str(s): rate(min_s, lambda: clahe.apply(np.ascontiguousarray(src[:s, :s]))) for s in (224, 512)}
    f = h5py.File(inputs["cache"], "r")
    images = f["images"]
    order = np.random.default_rng(3).permutation(images.shape[0])
    t0 = time.perf_counter()
    for i in order:
        images[int(i)]
    reads = len(order) / (time.perf_counter() - t0)
    print(json.dumps({
        "versions": {"pillow": Image.__version__, "opencv": cv2.__version__, "h5py": h5py.__version__, "numpy": np.__version__},
        "pil_decode_resize_normalize_images_per_s": pil,
        "opencv_decode_resize_normalize_images_per_s (INTER_LINEAR, not antialiased)": ocv,
        "opencv_clahe_images_per_s": cl,
        "h5py_random_reads_per_s": reads,
    }, indent=1))


if __name__ == "__main__":
    main()
