#!/usr/bin/env python3
"""PyTorch peer of `cxr-train bench`: forward (eval, no_grad) and forward+backward (train-mode
BatchNorm, BCE-with-logits against zeros, no optimizer step) images/s of one torchvision / timm
architecture, 3 channels, 9 outputs, synthetic input, median of the timed iterations. One JSON
line on stdout.

Usage: python scripts/bench_zoo_torch.py ARCH [SIZE] [BATCH] [ITERS] [WARMUP]
"""
import json
import sys
import time

import timm
import torch
import torchvision

TORCHVISION = {"resnet18", "resnet34", "resnet50", "resnet101", "resnext101_32x8d", "densenet121", "densenet161",
               "convnext_small", "efficientnet_b0", "efficientnet_b4", "efficientnet_v2_s"}


def main():
    arch = sys.argv[1]
    size, batch, iters, warmup = (int(a) for a in (sys.argv[2:6] + ["224", "8", "3", "1"][len(sys.argv[2:6]):]))
    torch.set_num_threads(int(__import__("os").environ.get("BENCH_THREADS", "2")))
    torch.manual_seed(1)
    model = torchvision.models.get_model(arch, num_classes=9) if arch in TORCHVISION else timm.create_model(arch, num_classes=9, pretrained=False)
    x = torch.randn(batch, 3, size, size)
    y = torch.zeros(batch, 9)

    def timed(step):
        rates = []
        for i in range(warmup + iters):
            t = time.perf_counter()
            step()
            if i >= warmup:
                rates.append(batch / (time.perf_counter() - t))
        return sorted(rates)[len(rates) // 2]

    model.eval()
    with torch.no_grad():
        fwd = timed(lambda: model(x))
    model.train()

    def train_step():
        model.zero_grad(set_to_none=True)
        torch.nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()

    bwd = timed(train_step)
    print(json.dumps({"arch": arch, "size": size, "batch": batch, "iters": iters, "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "forward_images_per_s": fwd, "forward_backward_images_per_s": bwd}))


if __name__ == "__main__":
    main()
