#!/usr/bin/env bash
# The recipe of examples/world: generates the multilingual world, trains the
# tokenizer and the base model here (every weight, from scratch), trains the
# task adapter (English) and the alignment adapter (the aligned languages'
# parallel sentences), and copies what the example ships into OUT:
#
#     bash examples/world/make.sh [OUT]      # default examples/world; SEED=1, PRETRAIN_STEPS=1000
#
# Release build; about 12 minutes on 2 cores. Every step is seeded, so the
# same seed on the same machine gives the same files.
set -euo pipefail
cd "$(dirname "$0")/../.."
seed=${SEED:-1}
out=${1:-examples/world}
steps=${PRETRAIN_STEPS:-1000}
swift build -c release --product adaptermerge >/dev/null
am=.build/release/adaptermerge
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

$am example world -o "$work/world" --seed "$seed" --pretrain 6000 --train 1500 --dev 30 --test 60 \
    --parallel 600 --parallel-test 60
$am example tokenizer --data "$work/world/pretrain.jsonl" --vocab-size 1024 -o "$work/tokenizer"
$am pretrain --config examples/world/config.json --tokenizer "$work/tokenizer" --data "$work/world/pretrain.jsonl" \
    -o "$work/base" --steps "$steps" --batch-size 32 --length 48 --lr 3e-3 --seed "$seed" --dtype bf16 \
    --log "$work/pretrain.jsonl"
$am train task --model "$work/base" --data "$work/world/task_train.jsonl" --dev "$work/world/task_dev.jsonl" \
    --eval-every 100 -o "$work/task.lora" --steps 600 --lr 6e-3 --batch-size 16 --seed "$seed"
$am train align --model "$work/base" --data "$work/world/parallel_train.jsonl" -o "$work/align.lora" \
    --steps 300 --lr 2e-3 --batch-size 16 --seed "$seed"

mkdir -p "$out/model" "$out/data"
cp "$work/base/config.json" "$work/base/model.safetensors" "$work/base/tokenizer.json" "$work/base/tokenizer_config.json" "$out/model/"
cp "$work/task.lora" "$work/align.lora" "$out/"
cp "$work/world/task_dev.jsonl" "$work/world/task_test.jsonl" "$work/world/parallel_test.jsonl" "$work/world/world.json" "$out/data/"
tail -n 1 "$work/pretrain.jsonl" > "$out/pretrain-last-step.json"
echo "wrote $out"
