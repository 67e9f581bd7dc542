#!/usr/bin/env python3
"""Time one LoRA training step with PyTorch + PEFT on the runtime benchmark's files.

    python3 Benchmarks/training_vs_torch.py DIR [--threads N] [--steps N] [--warmup N] [--json-file PATH]

DIR is a directory written by Benchmarks/runtime_vs_torch.py (model/ and
inputs.json: 16 x 64 ids). The step matches adaptermerge-training-bench:
PEFT LoRA r=8, alpha=16, dropout 0.1 on all seven projections (PEFT's own
init), the causal-LM loss over every token after the first (labels = ids),
backward, clip_grad_norm_(1.0), AdamW(lr 5e-4, betas 0.9/0.999, eps 1e-8,
no weight decay) step and zero_grad. Prints tokens/s (median and best of
--steps after --warmup) and peak RSS.
"""
import argparse
import json
import os
import resource
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("directory")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--steps", type=int, default=10)
parser.add_argument("--warmup", type=int, default=2)
parser.add_argument("--json-file")
args = parser.parse_args()

import torch  # noqa: E402

torch.set_num_threads(args.threads)
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
import transformers  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402

transformers.utils.logging.set_verbosity_error()
torch.manual_seed(0)
model = transformers.AutoModelForCausalLM.from_pretrained(os.path.join(args.directory, "model"), dtype=torch.float32)
config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.1, task_type="CAUSAL_LM",
                    target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
model = get_peft_model(model, config)
model.train()
ids = torch.tensor(json.load(open(os.path.join(args.directory, "inputs.json")))["ids"])
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-4, betas=(0.9, 0.999),
                              eps=1e-8, weight_decay=0.0)
samples, losses = [], []
for i in range(args.warmup + args.steps):
    start = time.perf_counter()
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    optimizer.step()
    optimizer.zero_grad()
    elapsed = time.perf_counter() - start
    losses.append(float(loss))
    if i >= args.warmup:
        samples.append(elapsed)
samples.sort()
median, best = samples[len(samples) // 2], samples[0]
tokens = ids.numel()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"pytorch  threads={args.threads}: training step {int(tokens / median)} tok/s median (best {int(tokens / best)}), "
      f"{median * 1000:.1f} ms per step of {tokens} tokens; loss {losses[0]:.4f} -> {losses[-1]:.4f}; peak RSS {int(peak)} MiB")
if args.json_file:
    with open(args.json_file, "w") as f:
        json.dump({"threads": args.threads, "tokens": tokens, "median_s": median, "best_s": best, "samples": samples,
                   "peak_rss_mib": peak, "losses": losses, "torch": torch.__version__,
                   "transformers": transformers.__version__}, f, indent=1)
