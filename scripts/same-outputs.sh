#!/usr/bin/env bash
# Shows that a refactoring left the CLI's outputs byte-identical: runs combine, check, tune and
# analyze (JSON and files) on the shipped examples with the binary given (default: the debug build)
# and compares every output with the copies recorded in Tests/Fixtures/golden/.
#
#   scripts/same-outputs.sh            compare (exit 1 naming the first difference)
#   scripts/same-outputs.sh --record   record the current outputs as the golden copies
set -euo pipefail
cd "$(dirname "$0")/.."
am=${AM:-$PWD/.build/debug/adaptermerge}
golden=Tests/Fixtures/golden
# A fixed relative directory: output paths appear in the JSON and in lineages.
out=.build/same-outputs
rm -rf "$out" && mkdir -p "$out"
ex=examples/tiny-llama
w=examples/world

$am combine $ex/task.lora $ex/align.lora --weights 1,0.5 -o "$out/merged.lora" --json > "$out/combine.json"
$am combine $ex/task.lora $ex/align.lora --weights 1,0.5 --method svd --rank 4 -o "$out/merged-r4.lora" --json > "$out/combine-svd.json"
$am combine $w/task.lora $w/align.lora --weights 1,0.31 --layer-weights 2:2-=0 -o "$out/world-merged.lora" --json > "$out/combine-world.json"
$am analyze --model $ex/model --adapter $ex/task.lora --pairs $ex/data/pairs.jsonl --json --svg "$out/analyze.svg" > "$out/analyze.json"
$am check --model $ex/model --adapter $ex/task.lora --adapter $ex/align.lora:0.5 --baseline $ex/task.lora \
    --data $ex/data/dev.jsonl --pairs $ex/data/pairs.jsonl --json --markdown "$out/check.md" --outputs "$out/check-outputs.jsonl" > "$out/check.json"
$am tune --model $ex/model --task $ex/task.lora --align $ex/align.lora --dev $ex/data/dev.jsonl --grid 0,0.5,1 --refine 2 \
    --json -o "$out/tuned.lora" --svg "$out/tune.svg" > "$out/tune.json"
$am inspect "$out/merged.lora" --json | grep -v '"path"' > "$out/inspect.json"
$am diff $ex/task.lora $ex/align.lora --json > "$out/diff.json"

if [[ ${1:-} == --record ]]; then
    rm -rf "$golden" && mkdir -p "$golden" && cp "$out"/* "$golden"/
    echo "recorded $(ls "$golden" | wc -l) outputs in $golden"
    exit 0
fi
status=0
for f in "$golden"/*; do
    name=$(basename "$f")
    if ! cmp -s "$f" "$out/$name"; then
        echo "differs: $name" >&2
        status=1
    fi
done
[[ $status -eq 0 ]] && echo "same outputs: $(ls "$golden" | wc -l) files byte-identical"
exit $status
