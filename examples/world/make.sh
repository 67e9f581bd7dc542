#!/usr/bin/env bash
# The recipe of examples/world: the first seed of the study. It runs
# examples/world/reproduce for one seed up to its adapters (the world, the
# tokenizer and base model trained here from scratch, the task, alignment and
# joint adapters) and copies what the example ships into OUT:
#
#     bash examples/world/make.sh [OUT]      # default examples/world; SEED=1, PRETRAIN_STEPS=1000
#
# Release build; about 12 minutes on 2 cores. Every step is seeded, so the
# same seed on the same machine gives the same files.
set -euo pipefail
cd "$(dirname "$0")/../.."
seed=${SEED:-1}
out=${1:-examples/world}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

examples/world/reproduce --seeds "$seed" --out "$work" --adapters-only
run=$work/seed-$seed
mkdir -p "$out/model" "$out/data"
cp "$run/base/config.json" "$run/base/model.safetensors" "$run/base/tokenizer.json" "$run/base/tokenizer_config.json" "$out/model/"
cp "$run/task.lora" "$run/align.lora" "$run/joint.lora" "$out/"
cp "$run/world/task_dev.jsonl" "$run/world/task_test.jsonl" "$run/world/parallel_test.jsonl" "$run/world/world.json" "$out/data/"
tail -n 1 "$run/pretrain.jsonl" > "$out/pretrain-last-step.json"
echo "wrote $out"
