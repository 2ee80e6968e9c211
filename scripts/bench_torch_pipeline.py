"""A torchxrayvision-style PyTorch pipeline, the end-to-end peer of `cxr-eval bench --dataset`:
a Dataset that decodes each PNG with PIL, resizes it to 224 (bilinear) and normalizes it, a
DataLoader with WORKERS workers, torchvision's DenseNet-121 (1 input channel, 9 sigmoid outputs)
in eager mode under inference_mode with THREADS threads. Untrained weights: throughput does not
depend on them. Prints images/s over every image (after one warm-up batch).
usage: bench_torch_pipeline.py IMAGE_DIR [BATCH=8] [WORKERS=2] [THREADS=2] [PASSES=1] [LIMIT]"""
import glob, json, os, sys, time
import numpy as np
import torch
import torchvision
from PIL import Image

image_dir = sys.argv[1]
batch, workers, threads, passes = (int(a) for a in (sys.argv[2:6] + ["8", "2", "2", "1"][len(sys.argv[2:6]):]))
files = sorted(glob.glob(os.path.join(image_dir, "*.png")))
if len(sys.argv) > 6:
    files = files[: int(sys.argv[6])]
torch.set_num_threads(threads)


class Images(torch.utils.data.Dataset):
    def __len__(self):
        return len(files)

    def __getitem__(self, i):
        img = Image.open(files[i]).convert("L").resize((224, 224), Image.BILINEAR)
        x = (np.asarray(img, dtype=np.float32) / 255.0 - 0.5) / 0.25
        return torch.from_numpy(x)[None]


model = torchvision.models.densenet121(num_classes=9)
model.features.conv0 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
model.eval()
loader = torch.utils.data.DataLoader(Images(), batch_size=batch, num_workers=workers)
with torch.inference_mode():
    torch.sigmoid(model(next(iter(loader))))
    t = time.perf_counter()
    n = 0
    for _ in range(passes):
        for x in loader:
            torch.sigmoid(model(x))
            n += x.shape[0]
    secs = time.perf_counter() - t
print(json.dumps({"peer": f"torch {torch.__version__} torchvision {torchvision.__version__} DataLoader", "batch": batch, "workers": workers,
                  "threads": threads, "images": n, "seconds": secs, "images_per_second": n / secs}))
