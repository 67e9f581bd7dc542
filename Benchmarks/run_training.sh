#!/usr/bin/env bash
# Training throughput side by side with PyTorch + PEFT, in one run:
#
#     bash Benchmarks/run_training.sh [scratch-dir]
#
# One optimizer step of the task objective (LoRA r=8, alpha 16, dropout 0.1 on
# all seven projections; AdamW lr 5e-4; clipping at 1.0) on the runtime
# benchmark's Llama (hidden 256, 8 layers, 4 heads, intermediate 688, vocab
# 2048) and batch (16 x 64 ids), written by Benchmarks/runtime_vs_torch.py
# --create-only. For each thread count in THREADS (default "2 1"; 1 thread
# runs under `taskset -c 0` for both sides) it alternates the two sides ROUNDS
# times (default 3) and keeps each side's best round (median of STEPS steps
# after 2 warm-up steps). Prints tokens/s, the ratio, adaptermerge's share of
# the sgemm peak, and both sides' peak RSS. Never part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-"2 1"}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-10}
scratch=${1:-$(mktemp -d)}
mkdir -p "$scratch"

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD)"
swift build -c release --product adaptermerge-training-bench >/dev/null
bench=$(swift build -c release --show-bin-path)/adaptermerge-training-bench
[ -f "$scratch/inputs.json" ] || python3 Benchmarks/runtime_vs_torch.py "$scratch" --create-only >/dev/null
pin() { local n=$1; shift; if [[ $n == 1 ]] && command -v taskset >/dev/null; then taskset -c 0 "$@"; else "$@"; fi; }

for t in $THREADS; do
    for r in $(seq 1 "$ROUNDS"); do
        pin "$t" python3 Benchmarks/training_vs_torch.py "$scratch" --threads "$t" --steps "$STEPS" \
            --json-file "$scratch/train-torch-t$t-r$r.json" 2>/dev/null
        pin "$t" "$bench" "$scratch" --threads "$t" --steps "$STEPS" --json-file "$scratch/train-swift-t$t-r$r.json"
    done
done

python3 - "$scratch" "$THREADS" "$ROUNDS" <<'PY'
import json, sys
scratch, threads, rounds = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
print("| threads | adaptermerge tok/s | PyTorch + PEFT tok/s | ratio | target | sgemm peak share | peak RSS (ours / theirs) |")
print("| ---: | ---: | ---: | ---: | --- | ---: | ---: |")
for t in threads:
    ours = [json.load(open(f"{scratch}/train-swift-t{t}-r{r}.json")) for r in range(1, rounds + 1)]
    theirs = [json.load(open(f"{scratch}/train-torch-t{t}-r{r}.json")) for r in range(1, rounds + 1)]
    o = min(ours, key=lambda d: d["median_s"]); p = min(theirs, key=lambda d: d["median_s"])
    ro, rp = o["tokens"] / o["median_s"], p["tokens"] / p["median_s"]
    ratio = ro / rp
    share = o["gflop_per_step"] / o["median_s"] / o["sgemm_peak_gflops"]
    print(f"| {t} | {ro:.0f} | {rp:.0f} | {ratio:.2f}x | >= 1.5x: {'met' if ratio >= 1.5 else 'not met'} | "
          f"{100 * share:.0f}% of {o['sgemm_peak_gflops']:.0f} GFLOP/s | {o['peak_rss_mib']:.0f} / {p['peak_rss_mib']:.0f} MiB |")
print(f"(each side's best of {rounds} rounds; medians of the steps; model FLOPs = forward + input-gradient backward, no weight gradients)")
PY
