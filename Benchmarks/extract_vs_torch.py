#!/usr/bin/env python3
"""The dense way to extract or resize one LoRA module, as mergekit and kohya do it, for the
`extract`/`resize` benchmark (Benchmarks/run_extract.sh).

    python3 Benchmarks/extract_vs_torch.py BASE_DIR TUNED_DIR [--module model.layers.0.mlp.gate_proj]
        [--rank 8] [--threads 2]

Reads one projection from both checkpoints (safetensors, any shard), forms ΔW = W_tuned - W_base in
float32 (14336 x 4096 for Llama-3-8B's gate_proj), and times, each after a warm-up:
  * torch.svd_lowrank(ΔW, q=rank+8, niter=2)      (mergekit-extract-lora's low-rank path)
  * torch.linalg.svd(ΔW, full_matrices=False)       (kohya's extract_lora_from_models / resize_lora)
and prints one JSON line with the seconds, the relative error of each at `rank`, and the peak RSS
of this process (ru_maxrss; the dense SVD holds U, S, Vh beside ΔW). Needs torch and safetensors
(scripts/fixtures/requirements.txt).
"""
import argparse
import json
import os
import resource
import time

import torch
from safetensors import safe_open


def load(directory, name):
    index = os.path.join(directory, "model.safetensors.index.json")
    file = json.load(open(index))["weight_map"][name] if os.path.exists(index) else "model.safetensors"
    with safe_open(os.path.join(directory, file), framework="pt") as f:
        return f.get_tensor(name).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("tuned")
    ap.add_argument("--module", default="model.layers.0.mlp.gate_proj")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    start = time.perf_counter()
    delta = load(a.tuned, a.module + ".weight") - load(a.base, a.module + ".weight")
    load_seconds = time.perf_counter() - start
    norm = torch.linalg.norm(delta).item()

    def rel(u, s, v):
        approx = (u[:, : a.rank] * s[: a.rank]) @ v[:, : a.rank].T
        return (torch.linalg.norm(delta - approx) / norm).item()

    out = {"module": a.module, "shape": list(delta.shape), "rank": a.rank, "threads": a.threads,
           "load_s": load_seconds, "torch": torch.__version__}
    torch.svd_lowrank(delta[:256], q=a.rank + 8, niter=2)  # warm-up
    start = time.perf_counter()
    u, s, v = torch.svd_lowrank(delta, q=a.rank + 8, niter=2)
    out["svd_lowrank_s"] = time.perf_counter() - start
    out["svd_lowrank_rel_error"] = rel(u, s, v)
    start = time.perf_counter()
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    out["linalg_svd_s"] = time.perf_counter() - start
    out["linalg_svd_rel_error"] = rel(u, s, vh.T)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
