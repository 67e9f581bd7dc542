#!/usr/bin/env python3
"""Write a Llama-3-8B-shaped bf16 checkpoint with random weights, for the memory benchmark.

    python3 Benchmarks/make_8b_checkpoint.py OUT_DIR [--layers 32] [--tokenizer DIR] [--seed N]

OUT_DIR gets what transformers' `save_pretrained` writes for Meta-Llama-3-8B:
config.json (32 layers, hidden 4096, intermediate 14336, 32 heads, 8 KV heads,
vocab 128256, untied head, rope_theta 500000 with llama3 scaling),
model-0000N-of-0000M.safetensors shards of at most 5 GB with
model.safetensors.index.json, and the tokenizer.json of --tokenizer
(default: the runtime fixture's, whose ids all fall inside the vocabulary).
About 16 GB; never committed.

Values: normal(0, 0.02) like transformers' initialisation, norms 1. Drawing
8 billion normals would take minutes, so each tensor tiles one 16M-value
block drawn per seed at a tensor-specific offset: the forward pass stays
finite and the bytes are not trivially compressible, which is all a memory
benchmark needs. Only numpy is used.
"""

import argparse
import json
import os
import shutil
import zlib

import numpy as np

HIDDEN, INTER, HEADS, KV_HEADS, HEAD_DIM, VOCAB = 4096, 14336, 32, 8, 128, 128256
SHARD_BYTES = 5 * 10**9


def tensors(layers):
    yield "model.embed_tokens.weight", (VOCAB, HIDDEN)
    for l in range(layers):
        p = f"model.layers.{l}."
        yield p + "input_layernorm.weight", (HIDDEN,)
        yield p + "self_attn.q_proj.weight", (HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.k_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.v_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.o_proj.weight", (HIDDEN, HEADS * HEAD_DIM)
        yield p + "post_attention_layernorm.weight", (HIDDEN,)
        yield p + "mlp.gate_proj.weight", (INTER, HIDDEN)
        yield p + "mlp.up_proj.weight", (INTER, HIDDEN)
        yield p + "mlp.down_proj.weight", (HIDDEN, INTER)
    yield "model.norm.weight", (HIDDEN,)
    yield "lm_head.weight", (VOCAB, HIDDEN)


def bf16(values):
    """float32 → bfloat16 bits, round to nearest even (as torch does)."""
    bits = values.astype(np.float32).view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--tokenizer", default=os.path.join(here, "..", "Tests", "Fixtures", "runtime", "llama"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    block = bf16(rng.normal(0, 0.02, 1 << 24))

    # Group tensors into shards of at most SHARD_BYTES, in checkpoint order.
    shards, current, size = [], [], 0
    for name, shape in tensors(a.layers):
        n = int(np.prod(shape)) * 2
        if current and size + n > SHARD_BYTES:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += n
    shards.append(current)

    weight_map = {}
    for i, shard in enumerate(shards):
        file = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {"__metadata__": {"format": "pt"}}, 0
        for name, shape in shard:
            n = int(np.prod(shape)) * 2
            header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
            offset += n
            weight_map[name] = file
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)
        with open(os.path.join(a.out, file), "wb") as f:
            f.write(len(raw).to_bytes(8, "little") + raw)
            for k, (name, shape) in enumerate(shard):
                count = int(np.prod(shape))
                if len(shape) == 1:
                    f.write(np.full(count, 0x3F80, dtype=np.uint16).tobytes())  # 1.0
                    continue
                start = (zlib.crc32(name.encode()) + 7919 * k) % len(block)
                written = 0
                while written < count:
                    piece = block[start : start + min(count - written, len(block) - start)]
                    f.write(piece.tobytes())
                    written += len(piece)
                    start = 0
        print(file, flush=True)

    config = {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": HEAD_DIM, "hidden_act": "silu",
        "hidden_size": HIDDEN, "initializer_range": 0.02, "intermediate_size": INTER,
        "max_position_embeddings": 8192, "mlp_bias": False, "model_type": "llama",
        "num_attention_heads": HEADS, "num_hidden_layers": a.layers, "num_key_value_heads": KV_HEADS,
        "pretraining_tp": 1, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16", "vocab_size": VOCAB,
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    total = sum(int(np.prod(s)) * 2 for _, s in tensors(a.layers))
    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if os.path.exists(os.path.join(a.tokenizer, name)):
            shutil.copy(os.path.join(a.tokenizer, name), os.path.join(a.out, name))


if __name__ == "__main__":
    main()
