#!/usr/bin/env bash
# Release-mode benchmarks of the .lora container and the convert/inspect
# commands, on Llama-3-8B-shaped r=8 adapters (f32 and bf16), next to what a
# user would otherwise run (zstd, ZipNN, Python safetensors). One command:
#
#     Benchmarks/run.sh [OUT_DIR]
#
# OUT_DIR (default: a new temporary directory) receives the generated adapters,
# the converted files and the JSON results; it is deleted at the end unless it
# was given or KEEP=1. Environment: RUNS (CLI runs per command, default 5),
# ROUNDS (passes of the codec benchmark, runs pooled; default 3), LEVELS (zstd
# levels, default 1,3,9), QUICK=1 (one run per measurement, one round).
#
# On a shared machine, other processes only ever make a run slower, so every
# figure is the fastest of its runs, and the runs of one measurement are
# spread over ROUNDS passes, minutes apart.
#
# Results are recorded in docs/BENCHMARKS.md. Timings never go into tests.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-5}
ROUNDS=${ROUNDS:-3}
LEVELS=${LEVELS:-1,3,9}
BENCH_FLAGS=(--rounds "$ROUNDS" --min-time 0.5)
if [[ ${QUICK:-0} == 1 ]]; then RUNS=1; BENCH_FLAGS=(--repeats 1 --min-time 0); fi

if [[ $# -ge 1 ]]; then
    OUT=$1; mkdir -p "$OUT"
else
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/adaptermerge-bench.XXXXXX")
    [[ ${KEEP:-0} == 1 ]] || trap 'rm -rf "$OUT"' EXIT
fi

section() { printf '\n### %s\n\n' "$*"; }

# --- machine ---------------------------------------------------------------
section "Machine"
echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "commit:    $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- Sources 2>/dev/null || echo ' (Sources/ modified)')"
echo "cpu:       $(lscpu | sed -n 's/^Model name:[[:space:]]*//p') ($(lscpu | sed -n 's/^Vendor ID:[[:space:]]*//p'), family $(lscpu | sed -n 's/^CPU family:[[:space:]]*//p') model $(lscpu | sed -n 's/^Model:[[:space:]]*//p'))"
echo "cores:     $(nproc) online, $(lscpu | sed -n 's/^Thread(s) per core:[[:space:]]*//p') thread(s) per core; $(lscpu | sed -n 's/^Hypervisor vendor:[[:space:]]*//p' | sed 's/^\(.\)/hypervisor \1/')"
echo "memory:    $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
echo "kernel:    $(uname -sr)"
echo "swift:     $(swift --version 2>&1 | head -1)"
echo "libzstd:   $(dpkg-query -W -f='${Version}' libzstd-dev 2>/dev/null || echo unknown) (zstd CLI: $(zstd --version 2>/dev/null | sed -n 's/.*\(v[0-9.]*\).*/\1/p'))"
echo "python:    $(python3 --version 2>&1 | cut -d' ' -f2), numpy $(python3 -c 'import numpy; print(numpy.__version__)'), safetensors $(python3 -c 'import safetensors; print(safetensors.__version__)')"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"

# --- build -----------------------------------------------------------------
section "Build (release)"
swift build -c release --product adaptermerge-bench 2>&1 | tail -1
swift build -c release --product adaptermerge 2>&1 | tail -1
BIN=$(swift build -c release --show-bin-path)
AM=$BIN/adaptermerge

# --- adapters --------------------------------------------------------------
section "Adapters"
python3 Benchmarks/make_llama3_adapter.py "$OUT" 2> >(grep -v -e Warning -e warnings.warn >&2)
F32=$OUT/llama3-8b-r8-f32
BF16=$OUT/llama3-8b-r8-bf16

# --- container codec -------------------------------------------------------
section "Container codec (adaptermerge-bench, one core)"
"$BIN/adaptermerge-bench" "$F32" "$BF16" --levels "$LEVELS" --json-file "$OUT/bench.json" "${BENCH_FLAGS[@]}" 2>/dev/null

section "Byte planes at zstd level 19 (slow to encode: one encode per round)"
L19_FLAGS=(--repeats 1 --min-time 0.5 --rounds 2)
[[ ${QUICK:-0} == 1 ]] && L19_FLAGS=(--repeats 1 --min-time 0)
"$BIN/adaptermerge-bench" "$F32" "$BF16" --encodings planes --levels 19 "${L19_FLAGS[@]}" \
    --baseline-levels none --no-components --json-file "$OUT/bench-level19.json" 2>/dev/null

# --- Python comparisons ----------------------------------------------------
section "ZipNN and python-zstandard (one core unless stated)"
if ! python3 -c 'import zipnn' 2>/dev/null; then
    echo "zipnn is not installed (pip install zipnn); only python-zstandard is measured."
fi
python3 Benchmarks/compare_zipnn.py "$F32" "$BF16" --levels "$LEVELS" --repeats "$((RUNS > 1 ? 2 * RUNS : 1))" \
    --json-file "$OUT/compare.json" 2> >(grep -v -e Warning -e warnings.warn >&2)

# --- CLI -------------------------------------------------------------------
section "adaptermerge convert / inspect (wall time best of $RUNS, peak RSS max of $RUNS)"

TIME=/usr/bin/time
if ! "$TIME" -f '%e' true 2>/dev/null; then
    if command -v apt-get >/dev/null; then apt-get install -y -qq time >/dev/null 2>&1 || true; fi
fi
"$TIME" -f '%e' true 2>/dev/null || { echo "GNU time (/usr/bin/time) is needed for wall time and peak RSS" >&2; exit 1; }

# measure NAME CMD...: runs CMD $RUNS times; sets WALL (best, s) and RSS (max, MiB).
measure() {
    local name=$1; shift
    local best="" rss=0 line t m
    for ((i = 0; i < RUNS; i++)); do
        "$TIME" -f '%e %M' -o "$OUT/time.txt" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || {
            echo "FAILED: $*" >&2; cat "$OUT/$name.err" >&2; exit 1; }
        line=$(tail -1 "$OUT/time.txt"); t=${line% *}; m=${line#* }
        if [[ -z $best ]] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
        ((m > rss)) && rss=$m
    done
    WALL=$best
    RSS=$(awk "BEGIN{printf \"%.0f\", $rss/1024}")
}
mb() { awk "BEGIN{printf \"%.1f\", $(du -sb "$1" | cut -f1)/1e6}"; }
ratio() { awk "BEGIN{ if ($2 > 0) printf \"%.2f\", $1/$2; else print \"-\" }"; }

printf '%-44s %8s %9s %9s %9s  %s\n' "command" "wall s" "RSS MiB" "in MB" "out MB" "vs baseline (baseline wall s; speed-up; size)"
row() { # label wall rss in out baseline...
    printf '%-44s %8s %9s %9s %9s  %s\n' "$@"
}

for d in f32 bf16; do
    SRC=$OUT/llama3-8b-r8-$d
    ST=$SRC/adapter_model.safetensors
    LORA=$OUT/$d.lora
    # baseline: zstd CLI at the container's default level, one thread
    measure zstd-$d zstd -q -f -3 -T1 "$ST" -o "$OUT/$d.safetensors.zst"
    ZW=$WALL
    measure convert-$d "$AM" convert "$SRC" "$LORA" --force
    row "convert PEFT($d) -> .lora" "$WALL" "$RSS" "$(mb "$ST")" "$(mb "$LORA")" \
        "zstd -3 -T1 file: ${ZW} s; $(ratio "$ZW" "$WALL")x; .lora $(mb "$LORA") MB vs .zst $(mb "$OUT/$d.safetensors.zst") MB"
    measure unzstd-$d zstd -q -f -d "$OUT/$d.safetensors.zst" -o "$OUT/$d.unzstd.safetensors"
    ZW=$WALL
    measure export-$d "$AM" convert "$LORA" "$OUT/$d-peft" --force
    row "convert .lora($d) -> PEFT" "$WALL" "$RSS" "$(mb "$LORA")" "$(mb "$OUT/$d-peft")" \
        "zstd -d file: ${ZW} s; $(ratio "$ZW" "$WALL")x"
done

# The PEFT export must carry the same tensors, bit for bit.
python3 - "$OUT" <<'EOF'
import sys
from safetensors import safe_open
out = sys.argv[1]
for d in ("f32", "bf16"):
    a = safe_open(f"{out}/llama3-8b-r8-{d}/adapter_model.safetensors", "pt")
    b = safe_open(f"{out}/{d}-peft/adapter_model.safetensors", "pt")
    assert sorted(a.keys()) == sorted(b.keys()), d
    for k in a.keys():
        x, y = a.get_tensor(k), b.get_tensor(k)
        assert x.dtype == y.dtype and x.shape == y.shape and x.view(-1).view(__import__("torch").uint8).equal(y.view(-1).view(__import__("torch").uint8)), k
print("round trip PEFT -> .lora -> PEFT: every tensor identical (f32, bf16)")
EOF

# inspect: baseline is listing the adapter with Python safetensors (names, shapes, dtypes only;
# inspect also decodes and checksums every tensor and computes per-module norms).
LIST_PY='import sys, json; from safetensors import safe_open
f = safe_open(sys.argv[1] + "/adapter_model.safetensors", "numpy"); c = json.load(open(sys.argv[1] + "/adapter_config.json"))
print(c["r"], c["lora_alpha"]); [print(k, f.get_slice(k).get_shape(), f.get_slice(k).get_dtype()) for k in f.keys()]'
measure list-py python3 -c "$LIST_PY" "$F32"
PW=$WALL
for d in f32 bf16; do
    LORA=$OUT/$d.lora
    measure inspect-$d "$AM" inspect "$LORA"
    row "inspect $d.lora" "$WALL" "$RSS" "$(mb "$LORA")" "-" "python safetensors listing: ${PW} s; $(ratio "$PW" "$WALL")x"
    measure inspect-json-$d "$AM" inspect "$LORA" --json
    row "inspect --json $d.lora" "$WALL" "$RSS" "$(mb "$LORA")" "-" "python safetensors listing: ${PW} s; $(ratio "$PW" "$WALL")x"
    measure verify-$d "$AM" verify "$LORA"
    row "verify $d.lora" "$WALL" "$RSS" "$(mb "$LORA")" "-" ""
done
measure inspect-peft "$AM" inspect "$F32"
row "inspect PEFT(f32) directory" "$WALL" "$RSS" "$(mb "$F32")" "-" "python safetensors listing: ${PW} s; $(ratio "$PW" "$WALL")x"

section "Done"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at end"
echo "results:   $OUT/bench.json $OUT/bench-level19.json $OUT/compare.json"
