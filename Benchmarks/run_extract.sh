#!/usr/bin/env bash
# Release-mode benchmark of `extract` and `resize` on Llama-3-8B-shaped files, next to the dense
# torch SVDs that mergekit and kohya use, in one run (docs/BENCHMARKS.md, "Extract and resize"):
#
#     bash Benchmarks/run_extract.sh SCRATCH_DIR
#
# 1. SCRATCH_DIR/base: an 8B-shaped bf16 checkpoint (Benchmarks/make_8b_checkpoint.py, 16 GB).
# 2. Two Llama-3-8B-shaped PEFT adapters (Benchmarks/make_llama3_adapter.py, r = 8, seeds 1 and 2).
# 3. SCRATCH_DIR/tuned = base + 1000 x adapter 1 (`adaptermerge apply`, bf16; the factor 1000 makes
#    the update visible above bf16's rounding of the base weights, so that extraction has
#    something to find).
# 4. `adaptermerge extract --rank 8` over all 224 projections, under Benchmarks/peak_memory.sh.
# 5. Benchmarks/extract_vs_torch.py: torch.svd_lowrank and torch.linalg.svd on one 14336 x 4096
#    module of the same pair.
# 6. `resize` of the concat of the two adapters (rank 16) to --max-rank 8 --sv-fro 0.99
#    --pad-to 8,16, under peak_memory.sh.
# Needs ~50 GB of disk and python3 with torch, safetensors and numpy. Never part of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${1:?usage: run_extract.sh SCRATCH_DIR}
mkdir -p "$scratch"
PY=${PYTHON:-python3}
swift build -c release --product adaptermerge 2>&1 | tail -1
am=$(swift build -c release --show-bin-path)/adaptermerge
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:  $(git rev-parse --short HEAD)"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB"
[[ -f $scratch/base/config.json ]] || $PY Benchmarks/make_8b_checkpoint.py "$scratch/base" >/dev/null
for seed in 1 2; do
    [[ -d $scratch/adapter-$seed ]] || {
        $PY Benchmarks/make_llama3_adapter.py "$scratch/adapters-$seed" --seed $seed >/dev/null
        mv "$scratch/adapters-$seed/llama3-8b-r8-f32" "$scratch/adapter-$seed"
        rm -rf "$scratch/adapters-$seed"
    }
done
[[ -f $scratch/tuned/config.json ]] || "$am" apply --model "$scratch/base" --adapter "$scratch/adapter-1:1000" \
    -o "$scratch/tuned" >/dev/null
echo "== extract --rank 8 (224 projections)"
Benchmarks/peak_memory.sh "$am" extract --base "$scratch/base" --tuned "$scratch/tuned" --rank 8 \
    -o "$scratch/extracted.lora" --force --json >"$scratch/extract.json"
$PY - "$scratch/extract.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
errors = [m["relative_error"] for m in d["modules"]]
gate = [m for m in d["modules"] if m["name"] == "model.layers.0.mlp.gate_proj"][0]
print(f"modules {len(errors)}, relative error mean {sum(errors)/len(errors):.4g}, max {max(errors):.4g}; "
      f"layer 0 gate_proj {gate['relative_error']:.4g}")
PY
echo "== torch on one module (model.layers.0.mlp.gate_proj, 14336 x 4096)"
$PY Benchmarks/extract_vs_torch.py "$scratch/base" "$scratch/tuned" --rank 8 --threads "$(nproc)"
echo "== resize: concat of two r=8 adapters (r=16) to --max-rank 8 --sv-fro 0.99 --pad-to 8,16"
"$am" combine "$scratch/adapter-1" "$scratch/adapter-2" -o "$scratch/concat.lora" --force >/dev/null
Benchmarks/peak_memory.sh "$am" resize "$scratch/concat.lora" --max-rank 8 --sv-fro 0.99 --pad-to 8,16 \
    -o "$scratch/resized.lora" --force | tail -n 2
