#!/usr/bin/env python3
"""Write Llama-3-8B-shaped PEFT LoRA adapters for the container benchmarks.

    python3 Benchmarks/make_llama3_adapter.py OUT_DIR [--seed N] [--layers 32]

writes two PEFT adapter directories (each `adapter_config.json` +
`adapter_model.safetensors`, the layout `peft.PeftModel.save_pretrained` uses):

    OUT_DIR/llama3-8b-r8-f32/    float32 factors  (~84 MB)
    OUT_DIR/llama3-8b-r8-bf16/   the same factors rounded to bfloat16 (~42 MB)

Shapes are those of Meta-Llama-3-8B: 32 layers, hidden 4096, intermediate
14336, 8 KV heads of dim 128 (so k_proj/v_proj map 4096 -> 1024); r=8,
lora_alpha=16 on all seven projections.

Values mimic a trained LoRA rather than white noise, because compression
ratios depend on the value distribution:

* lora_A starts as PEFT's init, kaiming_uniform_(a=sqrt(5)), i.e.
  U(-1/sqrt(in), 1/sqrt(in)), plus a small learned drift (normal, std a
  fraction of that bound that varies per layer and module, with a few rows
  that moved more, as Adam moves some directions further than others);
* lora_B starts at zero in PEFT and learns small values: normal with a
  per-layer/per-module std between ~1e-3 and ~5e-3 and a per-row scale, so
  that some output channels learned more than others.

The seed fixes everything; two runs give byte-identical files. The output is
~126 MB and is never committed.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

HIDDEN = 4096
INTERMEDIATE = 14336
KV_OUT = 8 * 128  # 8 KV heads of dim 128
RANK = 8
ALPHA = 16

# (module path inside a layer, in_features, out_features)
PROJECTIONS = [
    ("self_attn.q_proj", HIDDEN, HIDDEN),
    ("self_attn.k_proj", HIDDEN, KV_OUT),
    ("self_attn.v_proj", HIDDEN, KV_OUT),
    ("self_attn.o_proj", HIDDEN, HIDDEN),
    ("mlp.gate_proj", HIDDEN, INTERMEDIATE),
    ("mlp.up_proj", HIDDEN, INTERMEDIATE),
    ("mlp.down_proj", INTERMEDIATE, HIDDEN),
]


def factors(rng, layer, layers, in_f, out_f):
    """One module's (A, B) as float32, shaped (r, in) and (out, r)."""
    bound = 1.0 / np.sqrt(in_f)
    a = rng.uniform(-bound, bound, size=(RANK, in_f))
    # Drift: 5%..25% of the init bound, larger in later layers, with a few
    # rows (directions) that moved up to 3x more.
    depth = layer / max(layers - 1, 1)
    drift = bound * rng.uniform(0.05, 0.15) * (1.0 + depth)
    row_scale = np.exp(rng.normal(0.0, 0.35, size=(RANK, 1)))
    a += rng.normal(0.0, 1.0, size=(RANK, in_f)) * drift * row_scale
    # B: std ~1e-3..5e-3 per module, log-uniform, with per-row spread.
    std = np.exp(rng.uniform(np.log(1e-3), np.log(5e-3)))
    out_scale = np.exp(rng.normal(0.0, 0.3, size=(out_f, 1)))
    b = rng.normal(0.0, 1.0, size=(out_f, RANK)) * std * out_scale
    return a.astype(np.float32), b.astype(np.float32)


def config(base_model):
    """An adapter_config.json as PEFT 0.21 writes it for a plain LoRA."""
    return {
        "alpha_pattern": {},
        "base_model_name_or_path": base_model,
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "layer_replication": None,
        "layers_pattern": None,
        "layers_to_transform": None,
        "lora_alpha": ALPHA,
        "lora_bias": False,
        "lora_dropout": 0.05,
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": RANK,
        "rank_pattern": {},
        "revision": None,
        "target_modules": sorted(p.split(".")[1] for p, _, _ in PROJECTIONS),
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }


def write_dir(path, tensors, base_model):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump(config(base_model), f, indent=2, sort_keys=True)
        f.write("\n")
    save_file(tensors, os.path.join(path, "adapter_model.safetensors"), metadata={"format": "pt"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="scratch directory for the two adapter directories")
    parser.add_argument("--seed", type=int, default=20250801)
    parser.add_argument("--layers", type=int, default=32, help="number of layers (32 for Llama-3-8B)")
    parser.add_argument("--base-model", default="meta-llama/Meta-Llama-3-8B")
    args = parser.parse_args()

    rng = np.random.Generator(np.random.PCG64(args.seed))
    f32, bf16 = {}, {}
    for layer in range(args.layers):
        for module, in_f, out_f in PROJECTIONS:
            a, b = factors(rng, layer, args.layers, in_f, out_f)
            prefix = f"base_model.model.model.layers.{layer}.{module}"
            for suffix, value in (("lora_A.weight", a), ("lora_B.weight", b)):
                t = torch.from_numpy(value)
                f32[f"{prefix}.{suffix}"] = t
                bf16[f"{prefix}.{suffix}"] = t.to(torch.bfloat16)  # round to nearest even

    for name, tensors in (("f32", f32), ("bf16", bf16)):
        path = os.path.join(args.out_dir, f"llama3-8b-r{RANK}-{name}")
        write_dir(path, tensors, args.base_model)
        size = os.path.getsize(os.path.join(path, "adapter_model.safetensors"))
        params = sum(t.numel() for t in tensors.values())
        print(f"{path}: {len(tensors)} tensors, {params:,} parameters, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    sys.exit(main())
