#!/usr/bin/env python3
"""Reference logits for the zoo's golden tests (models/tests/golden.rs).

Every tensor of every registered architecture's reference implementation (torchvision or timm,
5 classes, 3 input channels) is filled with a closed-form function of its state-dict key and
flat index, the input with another, and the eval-mode logits are written to
models/tests/fixtures/golden.json. The Rust test fills the Burn model through the weight loader
with the same function, so a wrong name, layout, epsilon, activation or block order changes the
logits. The functions are spelled out identically in models/tests/golden.rs.

Usage: python scripts/golden_reference.py   (torch 2.9.1, torchvision 0.24.1, timm 1.0.31)
"""
import json
import math
import os
import sys

import numpy as np
import timm
import torch
import torchvision

TORCHVISION = ["resnet18", "resnet34", "resnet50", "resnet101", "resnext101_32x8d", "densenet121", "densenet161",
               "convnext_small", "efficientnet_b0", "efficientnet_b4", "efficientnet_v2_s"]
TIMM = ["seresnet50", "tresnet_m", "mobilenetv3_large_100", "repvgg_b0", "regnety_040", "legacy_xception",
        "dpn68", "dpn92", "convnextv2_tiny"]
CLASSES, BATCH, SIZE = 5, 2, 64


def fnv1a(s: str) -> int:
    h = 0x811C9DC5
    for b in s.encode():
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def uniform(seed: int, n: int) -> np.ndarray:
    """splitmix64 of (seed, index) → [0, 1) with 53 bits: exact integer arithmetic, so Rust
    reproduces every value bit for bit."""
    i = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + i * np.uint64(0xBF58476D1CE4E5B9) + np.uint64(1)
        z ^= z >> np.uint64(30)
        z = z * np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z = z * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) / 2.0**53


def fill(name: str, shape, gain: float) -> torch.Tensor:
    """Running variances in [1, 1.25], means and biases small, vector weights near 1, and every
    other tensor uniform with variance gain/fan_in. The gain is chosen per architecture (see
    `choose_gain`): too little and the biases drown the input, too much and float32 rounding is
    amplified past any useful tolerance."""
    n = math.prod(shape)
    fan_in = n // shape[0] if len(shape) >= 1 and shape[0] > 0 else 1
    u = uniform(fnv1a(name), n)
    s = 2.0 * u - 1.0
    if name.endswith("running_var"):
        v = 1.0 + 0.25 * u
    elif name.endswith("running_mean"):
        v = 0.01 * s
    elif len(shape) <= 1 and name.endswith("weight"):
        v = 1.0 + 0.1 * s
    elif name.endswith("bias"):
        v = 0.01 * s
    else:
        v = s * math.sqrt(3.0 * gain / fan_in)
    return torch.from_numpy(v).reshape(shape).to(torch.float32)


def image() -> torch.Tensor:
    return torch.from_numpy(2.0 * uniform(fnv1a("input"), BATCH * 3 * SIZE * SIZE) - 1.0).reshape(BATCH, 3, SIZE, SIZE).float()


def build(name):
    if name in TORCHVISION:
        return torchvision.models.get_model(name, num_classes=CLASSES)
    return timm.create_model(name, num_classes=CLASSES, pretrained=False)


GAINS = [2.0, 2.5, 1.75, 1.5, 2.25, 3.0, 1.25, 1.0]
MIN_INPUT_EFFECT = 5e-3  # the two samples' logits differ by this much of their scale
MAX_F32_ERROR = 2e-5  # float32 vs float64 logits, relative to their scale


def filled(name, gain):
    m = build(name).eval()
    sd = m.state_dict()
    m.load_state_dict({k: (fill(k, list(v.shape), gain) if v.is_floating_point() else v) for k, v in sd.items()})
    return m, len(sd)


def choose_gain(name, x):
    """The first gain whose logits depend on the input and stay well conditioned; returns it with
    the float64 logits (the reference) and the diagnostics."""
    for gain in GAINS:
        m, n = filled(name, gain)
        with torch.no_grad():
            y32 = m(x).double()
            y64 = m.double()(x.double())
        scale = y64.abs().max().item()
        effect = (y64[0] - y64[1]).abs().max().item() / scale
        f32 = (y64 - y32).abs().max().item() / scale
        if effect >= MIN_INPUT_EFFECT and f32 <= MAX_F32_ERROR:
            return gain, y64, n, effect, f32
    raise SystemExit(f"{name}: no gain in {GAINS} gives input effect >= {MIN_INPUT_EFFECT} with float32 error <= {MAX_F32_ERROR}")


def main():
    out_path = os.path.join(os.path.dirname(__file__), "..", "models", "tests", "fixtures", "golden.json")
    torch.set_num_threads(2)
    x = image()
    result = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "timm": timm.__version__},
              "classes": CLASSES, "batch": BATCH, "size": SIZE, "gain": {}, "logits": {}}
    for name in TORCHVISION + TIMM:
        gain, y, n, effect, f32 = choose_gain(name, x)
        result["gain"][name] = gain
        result["logits"][name] = [float(v) for v in y.flatten()]
        print(f"{name}: {n} tensors, gain {gain}, input effect {effect:.2g}, f32 error {f32:.1g}, logits {[round(v, 4) for v in y[0].tolist()]}", file=sys.stderr)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
