"""The Python peer of `cxr-eval bench`: onnxruntime's Python API on the same model file, same
threads, same batch sizes, same constant input, same timing rule (WARMUP runs, then at least
SECONDS and at least MIN_RUNS timed runs; throughput = images / summed run time). Prints JSON like
`cxr-eval bench`.
usage: bench_python_ort.py MODEL BATCHES SECONDS THREADS [WARMUP=2] [MIN_RUNS=3]"""
import json, math, sys, time
import numpy as np
import onnxruntime as ort

model, batches, seconds, threads = sys.argv[1], [int(b) for b in sys.argv[2].split(",")], float(sys.argv[3]), int(sys.argv[4])
warmup = int(sys.argv[5]) if len(sys.argv) > 5 else 2
min_runs = int(sys.argv[6]) if len(sys.argv) > 6 else 3
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
shape = s.get_inputs()[0].shape


def pct(v, q):  # nearest rank, as cxr-eval
    return v[min(max(math.ceil(q / 100 * len(v)), 1), len(v)) - 1]


points = []
for b in batches:
    x = np.full([b] + list(shape[1:]), 0.1, dtype=np.float32)
    feed = {s.get_inputs()[0].name: x}
    for _ in range(warmup):
        s.run(None, feed)
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < min_runs:
        t = time.perf_counter(); s.run(None, feed); times.append((time.perf_counter() - t) * 1e3)
    total = sum(times) / 1e3
    times.sort()
    points.append({"mode": "inference", "batch": b, "iterations": len(times), "images_per_second": b * len(times) / total,
                   "latency_ms": {"p50": pct(times, 50), "p90": pct(times, 90), "p99": pct(times, 99)}})
print(json.dumps({"provider": "cpu", "peer": "python onnxruntime " + ort.__version__, "threads": threads, "points": points}, indent=2))
