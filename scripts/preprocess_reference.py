#!/usr/bin/env python3
"""Reference outputs for the preprocessing tests (data/tests/fixtures/preprocess/).

PIL resizes (every filter) and OpenCV CLAHE (several tile grids and clip limits, 8- and 16-bit)
of small deterministic radiograph-like images, plus NumPy's percentiles for the histogram
landmarks. Inputs and outputs are PNGs (lossless); `manifest.json` lists each case.

    python -m venv /tmp/pp && /tmp/pp/bin/pip install pillow==13.0.0 opencv-python-headless==5.0.0.93 numpy==2.4.6
    /tmp/pp/bin/python scripts/preprocess_reference.py data/tests/fixtures/preprocess
"""
import json
import os
import sys

import cv2
import numpy as np
import PIL
from PIL import Image


def phantom(h, w, seed, peak):
    """Smooth anatomy-like structure, a gradient, black padding on one side and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 0.25 + 0.3 * x / w
    for _ in range(6):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(5, min(h, w) / 2)
        img += rng.uniform(-0.25, 0.35) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    img += rng.normal(0, 0.03, (h, w))
    img[:, : w // 10] = 0.0
    return np.clip(np.round(np.clip(img, 0, 1) * peak), 0, peak)


def main(out):
    os.makedirs(out, exist_ok=True)
    cases = {"pil": PIL.__version__, "opencv": cv2.__version__, "numpy": np.__version__, "resize": [], "clahe": [], "percentiles": []}
    src8 = phantom(83, 97, 7, 255).astype(np.uint8)
    src16 = phantom(83, 97, 8, 65535).astype(np.uint16)
    Image.fromarray(src8).save(f"{out}/src8.png")
    cv2.imwrite(f"{out}/src16.png", src16)
    filters = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "lanczos3": Image.LANCZOS, "box": Image.BOX, "nearest": Image.NEAREST}
    for name, f in filters.items():
        for size in [32, 80, 150]:
            file = f"resize_{name}_{size}.png"
            Image.fromarray(src8).resize((size, size), f).save(f"{out}/{file}")
            cases["resize"].append({"src": "src8.png", "filter": name, "size": size, "aspect": "stretch", "expected": file})
    # Aspect rules: a centred square crop, and centred black padding to a square, then bilinear.
    h, w = src8.shape
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    Image.fromarray(src8).crop((left, top, left + side, top + side)).resize((32, 32), Image.BILINEAR).save(f"{out}/resize_crop_32.png")
    cases["resize"].append({"src": "src8.png", "filter": "bilinear", "size": 32, "aspect": "crop", "expected": "resize_crop_32.png"})
    side = max(w, h)
    padded = Image.new("L", (side, side), 0)
    padded.paste(Image.fromarray(src8), ((side - w) // 2, (side - h) // 2))
    padded.resize((32, 32), Image.BILINEAR).save(f"{out}/resize_pad_32.png")
    cases["resize"].append({"src": "src8.png", "filter": "bilinear", "size": 32, "aspect": "pad", "expected": "resize_pad_32.png"})
    for src, name in [(src8, "src8.png"), (src16, "src16.png")]:
        for tiles, clip in [((8, 8), 2.0), ((3, 5), 4.0), ((4, 4), 40.0), ((2, 2), 0.0), ((97, 83), 1.0)]:
            bits = 8 if src.dtype == np.uint8 else 16
            if bits == 16 and tiles == (97, 83):
                continue
            res = cv2.createCLAHE(clipLimit=clip, tileGridSize=tiles).apply(src)
            file = f"clahe{bits}_{tiles[0]}x{tiles[1]}_clip{clip:g}.png"
            cv2.imwrite(f"{out}/{file}", res)
            cases["clahe"].append({"src": name, "tiles": list(tiles), "clip_limit": clip, "expected": file})
    pcts = [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99]
    for src, name, peak in [(src8, "src8.png", 255), (src16, "src16.png", 65535)]:
        cases["percentiles"].append({"src": name, "values": (np.percentile(src.astype(np.float64), pcts) / peak).tolist()})
    with open(f"{out}/manifest.json", "w") as fh:
        json.dump(cases, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
