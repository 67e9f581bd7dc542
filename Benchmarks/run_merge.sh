#!/usr/bin/env bash
# Merge benchmarks, side by side with PEFT in one run: `combine --method svd
# --rank 16`, `concat` and `add` on two Llama-3-8B-shaped adapters (r=8, all 7
# projections, 32 layers), file to file, with wall time and peak RSS, against
# PEFT's add_weighted_adapter (svd / cat / linear). Prints the ratios.
#
#   bash Benchmarks/run_merge.sh [scratch-dir]
#
# Needs python3 with the versions in scripts/fixtures/requirements.txt and
# /usr/bin/time (apt-get install -y time). Never part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${1:-$(mktemp -d)}
mkdir -p "$scratch"
peft_layers=${PEFT_LAYERS:-2}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ)"
swift build -c release --product adaptermerge >/dev/null
am=$PWD/.build/release/adaptermerge

for seed in 1 2; do
    if [ ! -d "$scratch/s$seed/llama3-8b-r8-f32" ]; then
        python3 Benchmarks/make_llama3_adapter.py "$scratch/s$seed" --seed "$seed" >/dev/null
    fi
    "$am" convert "$scratch/s$seed/llama3-8b-r8-f32" "$scratch/a$seed.lora" --force >/dev/null
done

# One timed run: wall seconds and peak RSS (MiB) of a command.
measure() {
    local log
    log=$(mktemp)
    /usr/bin/time -v "$@" >/dev/null 2>"$log"
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
    rm -f "$log"
    echo "$wall $rss"
}

declare -A ours
for method in svd concat add; do
    extra=()
    [ "$method" = svd ] && extra=(--rank 16)
    best=""
    for run in 1 2 3; do
        read -r wall rss < <(measure "$am" combine "$scratch/a1.lora" "$scratch/a2.lora" --weights 1,0.5 \
            --method "$method" "${extra[@]}" -o "$scratch/m-$method.lora" --force)
        if [ -z "$best" ] || awk "BEGIN {exit !($wall < $best)}"; then best=$wall; bestrss=$rss; fi
    done
    ours[$method]=$best
    echo "adaptermerge combine --method $method: ${best} s, peak RSS ${bestrss} MiB (32 layers, .lora -> .lora, best of 3)"
done
read -r wall rss < <(measure "$am" combine "$scratch/s1/llama3-8b-r8-f32" "$scratch/s2/llama3-8b-r8-f32" \
    --weights 1,0.5 --method svd --rank 16 -o "$scratch/m-peftdirs.lora" --force)
echo "adaptermerge combine --method svd from PEFT directories: ${wall} s, peak RSS ${rss} MiB"

# PEFT's svd takes minutes per layer; PEFT_JSON=file reuses an earlier run's timings.
if [ -n "${PEFT_JSON:-}" ]; then
    cp "$PEFT_JSON" "$scratch/peft.json.new" && mv "$scratch/peft.json.new" "$scratch/peft.json"
    peft_rss=${PEFT_RSS:-?}
else
    read -r _ peft_rss < <(measure python3 Benchmarks/merge_vs_peft.py "$scratch/s1/llama3-8b-r8-f32" \
        "$scratch/s2/llama3-8b-r8-f32" --layers "$peft_layers" --rank 16 --json "$scratch/peft.json")
fi
python3 - "$scratch/peft.json" "${ours[svd]}" "${ours[concat]}" "${ours[add]}" "$peft_rss" <<'PY'
import json, sys
peft = json.load(open(sys.argv[1]))
ours = {"svd": float(sys.argv[2]), "cat": float(sys.argv[3]), "linear": float(sys.argv[4])}
names = {"svd": "svd --rank 16", "cat": "concat", "linear": "add"}
print(f"PEFT {peft['torch']} ({peft['threads']} threads), measured on {peft['layers_measured']} layers, scaled to 32; "
      f"peak RSS of the PEFT process {sys.argv[5]} MiB (includes the {peft['layers_measured']}-layer bf16 base)")
print(f"{'method':16s} {'PEFT (s, 32 layers)':>20s} {'adaptermerge (s)':>17s} {'ratio':>10s}")
for key in ("svd", "cat", "linear"):
    p = peft["methods"][key]["seconds_32_layers"]
    ratio = p / ours[key]
    print(f"{names[key]:16s} {p:20.2f} {ours[key]:17.3f} {ratio:9.0f}x" if ratio >= 10 else f"{names[key]:16s} {p:20.2f} {ours[key]:17.3f} {ratio:9.2f}x")
PY
