#!/usr/bin/env bash
# The README's first command: build the tool and run the main job on the
# adapters shipped in examples/tiny-llama (small real PEFT-made adapters for a
# tiny random Llama: an English task adapter and a de/fr alignment adapter).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product adaptermerge >/dev/null
am=.build/release/adaptermerge
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== combine task + 0.5 x alignment (exact, with its certificate)"
$am combine examples/tiny-llama/task.lora examples/tiny-llama/align.lora --weights 1,0.5 -o "$out/merged.lora"
echo
echo "== the same at a fixed rank 8 (factor-space SVD)"
$am combine examples/tiny-llama/task.lora examples/tiny-llama/align.lora --weights 1,0.5 \
    --method svd --rank 8 -o "$out/merged-r8.lora" | tail -n 3
echo
echo "== inspect the merged adapter"
$am inspect "$out/merged.lora"
echo
echo "== how the two inputs relate"
$am diff examples/tiny-llama/task.lora examples/tiny-llama/align.lora | tail -n 6
echo
echo "== verify every checksum"
$am verify "$out/merged.lora"
echo
echo "== export the merge as a PEFT directory, and back"
$am combine examples/tiny-llama/task.lora examples/tiny-llama/align.lora --weights 1,0.5 -o "$out/merged-peft/" >/dev/null
$am convert "$out/merged-peft" "$out/roundtrip.lora"
cmp "$out/merged.lora" "$out/roundtrip.lora" && echo "PEFT round trip: byte-identical .lora"
