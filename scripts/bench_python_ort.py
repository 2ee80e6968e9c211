"""The Python peer of `cxr-eval bench`: onnxruntime's Python API on the same model file, same
threads, same batch sizes, same constant input, same timing rule (two warm-up runs, then at
least SECONDS and at least 3 runs). Prints JSON like `cxr-eval bench`."""
import json, sys, time
import numpy as np
import onnxruntime as ort

model, batches, seconds, threads = sys.argv[1], [int(b) for b in sys.argv[2].split(",")], float(sys.argv[3]), int(sys.argv[4])
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
shape = s.get_inputs()[0].shape
points = []
for b in batches:
    x = np.full([b] + list(shape[1:]), 0.1, dtype=np.float32)
    feed = {s.get_inputs()[0].name: x}
    s.run(None, feed); s.run(None, feed)
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t = time.perf_counter(); s.run(None, feed); times.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    times.sort()
    points.append({"batch": b, "iterations": len(times), "images_per_second": b * len(times) / total, "median_batch_ms": times[len(times) // 2] * 1e3})
print(json.dumps({"provider": "cpu", "peer": "python onnxruntime " + ort.__version__, "threads": threads, "points": points}, indent=2))
