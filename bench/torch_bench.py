#!/usr/bin/env python3
"""PyTorch side of `npm run bench`: times the focal losses on the data the bench wrote.

Input (JSON on stdin): {"sets": [set, ...]}, each set {
  "kind": "sigmoid" | "softmax", "dir": folder with logits.f32 and targets.f32 (sigmoid) or
  labels.i32 (softmax), "rows", "classes" (softmax), "alpha" (sigmoid),
  "cells": [{"gamma": 2, "gradient": true}, ...], "threads": [1, 2],
  "timing": {"minRuns", "maxRuns", "budgetMs", "slowMs", "prefixDivisor"}
    or, for the small-batch table, "perCall": {"batchMs", "batches", "maxBatches", "budgetMs"}
}
Output (JSON on stdout): {"sets": [{"results": [{"requested", "threads", "gamma", "gradient",
"ms", "runs", "warmup", "loss"} or, per call, {"requested", "threads", "gamma", "gradient", "us",
"calls", "batches", "loss"}]}, ...]}.
`python3 torch_bench.py --versions` prints {"torch", "torchvision", "formula"} and exits.

The sigmoid loss is torchvision.ops.sigmoid_focal_loss (mean) when torchvision imports, else the
same formula written with torch ops. The softmax loss is log_softmax, gather of the true class,
-(1 - p_t)^gamma * log p_t, mean. Forward only runs under torch.no_grad(); forward + gradient is
loss.backward() on logits with requires_grad. The timing rules are those of bench/timing.mjs
(measure and perCall).
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

try:
    from torchvision.ops import sigmoid_focal_loss as tv_sigmoid_focal_loss
    import torchvision

    TORCHVISION = torchvision.__version__
except Exception:  # torchvision missing or broken: use the same formula written with torch ops
    tv_sigmoid_focal_loss = None
    TORCHVISION = None


def sigmoid_focal_loss(x, t, alpha, gamma):
    if tv_sigmoid_focal_loss is not None:
        return tv_sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma, reduction="mean")
    # torchvision.ops.sigmoid_focal_loss, verbatim
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    alpha_t = alpha * t + (1 - alpha) * (1 - t)
    return (alpha_t * loss).mean()


def softmax_focal_loss(z, y, gamma):
    logpt = F.log_softmax(z, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
    pt = logpt.exp()
    return (-((1 - pt) ** gamma) * logpt).mean()


def load(spec):
    folder = spec["dir"]
    x = torch.from_numpy(np.fromfile(f"{folder}/logits.f32", dtype=np.float32))
    if spec["kind"] == "sigmoid":
        t = torch.from_numpy(np.fromfile(f"{folder}/targets.f32", dtype=np.float32))
        return x, t
    y = torch.from_numpy(np.fromfile(f"{folder}/labels.i32", dtype=np.int32).astype(np.int64))
    return x.view(spec["rows"], spec["classes"]), y


def make_call(spec, x, target, gamma, gradient):
    if spec["kind"] == "sigmoid":
        alpha = spec["alpha"]
        loss = lambda v: sigmoid_focal_loss(v, target, alpha, gamma)
    else:
        loss = lambda v: softmax_focal_loss(v, target, gamma)
    if not gradient:
        def forward():
            with torch.no_grad():
                return loss(x).item()
        return forward
    leaf = x.detach().clone().requires_grad_(True)

    def forward_backward():
        leaf.grad = None
        value = loss(leaf)
        value.backward()
        return value.item()
    return forward_backward


last = None  # what the last timed call returned (the loss)


def timed(fn):
    global last
    start = time.perf_counter()
    last = fn()
    return (time.perf_counter() - start) * 1000


def warm_up(run, most=5):
    """Full-size runs until one is not faster than 0.8x the one before (the heap stops growing)."""
    previous = timed(run)
    for _ in range(most - 1):
        t = timed(run)
        if t > 0.8 * previous:
            return
        previous = t


def measure(run, run_prefix, timing):
    run_prefix()
    estimate = timed(run_prefix) * timing["prefixDivisor"]
    if estimate > timing["slowMs"]:
        return {"ms": timed(run), "runs": 1, "warmup": "prefix", "loss": last}
    warm_up(run)
    times = [timed(run)]
    if times[0] > timing["slowMs"]:
        return {"ms": times[0], "runs": 1, "warmup": "full", "loss": last}
    spent = times[0]
    while len(times) < timing["minRuns"] or (spent < timing["budgetMs"] and len(times) < timing["maxRuns"]):
        t = timed(run)
        times.append(t)
        spent += t
    times.sort()
    mid = len(times) // 2
    ms = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2
    return {"ms": ms, "runs": len(times), "warmup": "full", "loss": last}


def time_batch(fn, calls):
    global last
    start = time.perf_counter()
    for _ in range(calls):
        last = fn()
    return (time.perf_counter() - start) * 1000


def per_call(fn, options):
    """Microseconds per call: warm-up for batchMs (at least 10 calls), batches sized from its rate, the fastest batch."""
    warm_calls, warm_start = 0, time.perf_counter()
    while warm_calls < 10 or (time.perf_counter() - warm_start) * 1000 < options["batchMs"]:
        time_batch(fn, 1)
        warm_calls += 1
    per_call_ms = (time.perf_counter() - warm_start) * 1000 / warm_calls
    calls = max(1, math.ceil(options["batchMs"] / per_call_ms))
    times, spent = [], 0
    while len(times) < options["batches"] or (spent < options["budgetMs"] and len(times) < options["maxBatches"]):
        t = time_batch(fn, calls)
        times.append(t)
        spent += t
    return {"us": min(times) * 1000 / calls, "calls": calls, "batches": len(times), "loss": last}


def run_set(spec):
    x, target = load(spec)
    results = []
    for threads in spec["threads"]:
        torch.set_num_threads(threads)
        for cell in spec["cells"]:
            gamma, gradient = cell["gamma"], cell["gradient"]
            run = make_call(spec, x, target, gamma, gradient)
            if "perCall" in spec:
                result = per_call(run, spec["perCall"])
            else:
                divisor = spec["timing"]["prefixDivisor"]
                n_prefix = -(-x.shape[0] // divisor)
                run_prefix = make_call(spec, x[:n_prefix], target[:n_prefix], gamma, gradient)
                result = measure(run, run_prefix, spec["timing"])
            results.append({"requested": threads, "threads": torch.get_num_threads(), "gamma": gamma, "gradient": gradient, **result})
    return {"results": results}


def main():
    if "--versions" in sys.argv:
        print(json.dumps({"torch": torch.__version__, "torchvision": TORCHVISION,
                          "formula": "torchvision.ops.sigmoid_focal_loss" if TORCHVISION else "torchvision's formula in torch ops"}))
        return
    request = json.load(sys.stdin)
    print(json.dumps({"sets": [run_set(spec) for spec in request["sets"]]}))


if __name__ == "__main__":
    main()
