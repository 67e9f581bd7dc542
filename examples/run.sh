#!/usr/bin/env bash
# The README's first command: build the tool and run the main job on the
# files shipped in examples/tiny-llama (a small random Llama checkpoint with
# its tokenizer, a task adapter and an alignment adapter made by PEFT).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product adaptermerge >/dev/null
am=.build/release/adaptermerge
ex=examples/tiny-llama
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== combine task + 0.5 x alignment (exact, with its certificate)"
$am combine $ex/task.lora $ex/align.lora --weights 1,0.5 -o "$out/merged.lora" | tail -n 6
echo
echo "== the same at a fixed rank 4 (factor-space SVD)"
$am combine $ex/task.lora $ex/align.lora --weights 1,0.5 --method svd --rank 4 -o "$out/merged-r4.lora" | tail -n 3
echo
echo "== inspect the merged adapter"
$am inspect "$out/merged.lora" | head -n 14
echo
echo "== how the two inputs relate, per layer"
$am diff $ex/task.lora $ex/align.lora | sed -n '/per layer/,$p'
echo
echo "== verify every checksum"
$am verify "$out/merged.lora"
echo
echo "== task loss per language: base, task adapter, merged adapter"
for adapter in none $ex/task.lora "$out/merged.lora"; do
    echo "-- adapter: ${adapter##*/}"
    if [ "$adapter" = none ]; then
        $am score --model $ex/model --data $ex/data/dev.jsonl
    else
        $am score --model $ex/model --adapter "$adapter" --data $ex/data/dev.jsonl
    fi
done
echo
echo "== cross-lingual retrieval per layer with the merged adapter (curve in $out/curve.svg)"
$am analyze --model $ex/model --adapter "$out/merged.lora" --pairs $ex/data/pairs.jsonl --svg "$out/curve.svg"
echo
echo "== PEFT directory -> .lora -> PEFT, and the merge as a PEFT directory"
$am convert $ex/task-peft "$out/task.lora" --kind task --languages en
cmp "$out/task.lora" $ex/task.lora && echo "same bytes as the shipped task.lora"
$am combine $ex/task.lora $ex/align.lora --weights 1,0.5 -o "$out/merged-peft/" >/dev/null
$am convert "$out/merged-peft" "$out/roundtrip.lora" >/dev/null
cmp "$out/merged.lora" "$out/roundtrip.lora" && echo "merge exported to PEFT and back: byte-identical .lora"
echo
echo "== train a task adapter and an alignment adapter on the shipped data, then merge them"
$am train task --model $ex/model --data $ex/data/dev.jsonl -o "$out/task-trained.lora" --steps 40 --lr 5e-3 --batch-size 4
$am train align --model $ex/model --data $ex/data/pairs.jsonl -o "$out/align-trained.lora" --steps 40 --lr 5e-3 --batch-size 6
$am combine "$out/task-trained.lora" "$out/align-trained.lora" --weights 1,0.5 -o "$out/merged-trained.lora" | tail -n 4
echo
echo "== check the merge against the task adapter, per language (report in $out/report.html)"
$am check --model $ex/model --adapter $ex/task.lora --adapter $ex/align.lora:0.5 --baseline $ex/task.lora \
    --data $ex/data/dev.jsonl --pairs $ex/data/pairs.jsonl --html "$out/report.html"
echo
echo "== choose the alignment weight on dev data (leave one language out)"
$am tune --model $ex/model --task $ex/task.lora --align $ex/align.lora --dev $ex/data/dev.jsonl --grid 0,0.5,1 --refine 2 | tail -n 9
echo
echo "== the world example: a base model trained here with its task, alignment and joint adapters (examples/world)"
echo "-- combine task + 0.31 x align on layers 0-1 (what tune chose on dev for this seed), then check it against the task adapter"
$am combine examples/world/task.lora examples/world/align.lora --weights 1,0.31 --layer-weights 2:2-=0 \
    -o "$out/world-merged.lora" | tail -n 1
$am check --model examples/world/model --adapter "$out/world-merged.lora" --baseline examples/world/task.lora \
    --data examples/world/data/task_test.jsonl --pairs examples/world/data/parallel_test.jsonl --html "$out/world-report.html"
echo "-- the joint adapter (task and alignment trained together) against the task adapter"
$am check --model examples/world/model --adapter examples/world/joint.lora --baseline examples/world/task.lora \
    --data examples/world/data/task_test.jsonl --pairs examples/world/data/parallel_test.jsonl
echo
echo "== a real pretrained model: SmolLM2-135M-Instruct, quantized Q4_1, as llama.cpp users hold it (examples/real)"
if real=$(scripts/get-real-model.sh 2>"$out/get-real-model.log"); then
    $am tokenize --model "$real" "Grüße aus München, 123 🙂"
    $am score --model "$real" --data examples/real/score.jsonl
    $am analyze --model "$real" --pairs examples/real/pairs.jsonl --svg "$out/real-retrieval.svg" | tail -n 4
    $am check --model "$real" --data examples/real/score.jsonl --pairs examples/real/pairs.jsonl
else
    echo "skipped: scripts/get-real-model.sh could not fetch the model (offline?); see $out/get-real-model.log"
fi
echo
echo "== a SentencePiece GGUF (Mistral/Llama-2 style, byte fallback), made by llama.cpp's converter from a tiny random Llama"
spm=Tests/Fixtures/gguf-models/tiny-llama-spm.q8_0.gguf
$am tokenize --model $spm "the fox 🦊 <unk> there"
$am analyze --model $spm --pairs examples/real/pairs.jsonl --svg "$out/spm-retrieval.svg" | tail -n 2
