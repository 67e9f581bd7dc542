#!/usr/bin/env python3
"""Time PEFT's add_weighted_adapter on Llama-3-8B-shaped adapters, for the
side-by-side merge benchmark in Benchmarks/run_merge.sh.

    python3 Benchmarks/merge_vs_peft.py A_DIR B_DIR --layers 2 [--rank 16] [--json OUT]

A_DIR and B_DIR are PEFT adapter directories for the 32-layer Llama-3-8B
shapes (Benchmarks/make_llama3_adapter.py). PEFT needs a base model to attach
adapters to, and a full 8B model does not fit this machine's memory, so the
base here has the real per-layer shapes but only --layers layers, and the
adapters are cut to those layers. PEFT's merge cost is a loop over modules,
linear in the number of layers, so the 32-layer time is the measured time
times 32 / layers; the JSON output gives both.

Methods timed: combination_type="svd" (svd_rank=--rank), "linear" and "cat",
with weights [1.0, 0.5], as adaptermerge's svd, add and concat.
"""

import argparse
import json
import os
import pathlib
import tempfile
import time

import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file
from transformers import LlamaConfig, LlamaForCausalLM


def cut_adapter(src: pathlib.Path, dst: pathlib.Path, layers: int) -> None:
    """Copies a PEFT adapter keeping only layers < `layers`."""
    dst.mkdir(parents=True, exist_ok=True)
    tensors = load_file(str(src / "adapter_model.safetensors"))
    keep = {k: v for k, v in tensors.items() if int(k.split(".layers.")[1].split(".")[0]) < layers}
    save_file(keep, str(dst / "adapter_model.safetensors"), metadata={"format": "pt"})
    config = json.loads((src / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = None
    (dst / "adapter_config.json").write_text(json.dumps(config, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--json", help="write the timings here")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)

    config = LlamaConfig(vocab_size=256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=args.layers,
                         num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=128)
    # bf16 halves the base's memory; the adapters stay f32, as PEFT keeps them.
    with torch.device("cpu"):
        base = LlamaForCausalLM(config).to(torch.bfloat16)

    with tempfile.TemporaryDirectory() as scratch:
        a_dir, b_dir = pathlib.Path(scratch) / "a", pathlib.Path(scratch) / "b"
        cut_adapter(pathlib.Path(args.a), a_dir, args.layers)
        cut_adapter(pathlib.Path(args.b), b_dir, args.layers)
        model = PeftModel.from_pretrained(base, str(a_dir), adapter_name="a")
        model.load_adapter(str(b_dir), adapter_name="b")
        for module in model.modules():  # PEFT keeps LoRA factors in f32 even on a bf16 base
            for name in ("lora_A", "lora_B"):
                if hasattr(module, name):
                    getattr(module, name).float()

        results = {"layers_measured": args.layers, "rank": args.rank, "torch": torch.__version__,
                   "threads": torch.get_num_threads(), "methods": {}}
        for label, kwargs in [("svd", {"combination_type": "svd", "svd_rank": args.rank}),
                              ("linear", {"combination_type": "linear"}),
                              ("cat", {"combination_type": "cat"})]:
            name = f"merged_{label}"
            start = time.perf_counter()
            model.add_weighted_adapter(["a", "b"], [1.0, 0.5], name, **kwargs)
            elapsed = time.perf_counter() - start
            model.delete_adapter(name)
            results["methods"][label] = {"seconds_measured": elapsed, "seconds_32_layers": elapsed * 32 / args.layers}
            print(f"PEFT {label:6s}: {elapsed:8.3f} s for {args.layers} layers -> {elapsed * 32 / args.layers:8.2f} s for 32 layers",
                  flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
