#!/usr/bin/env bash
# The README's first command: build the tool and run it on the adapters shipped
# in examples/tiny-llama (small real PEFT adapters for a tiny random Llama).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product adaptermerge >/dev/null
am=.build/release/adaptermerge
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== inspect the task adapter"
$am inspect examples/tiny-llama/task.lora
echo
echo "== verify every checksum"
$am verify examples/tiny-llama/task.lora
$am verify examples/tiny-llama/align.lora
echo
echo "== PEFT directory -> .lora -> PEFT directory"
$am convert examples/tiny-llama/align-peft "$out/align.lora" --kind alignment --languages de,fr
$am convert "$out/align.lora" "$out/align-peft"
cmp examples/tiny-llama/align-peft/adapter_config.json "$out/align-peft/adapter_config.json" && echo "adapter_config.json identical"
