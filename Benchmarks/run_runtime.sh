#!/usr/bin/env bash
# Release-mode benchmark of the model runtime next to PyTorch + PEFT and the
# tokenizers library, in one run (docs/DESIGN.md §8):
#
#     bash Benchmarks/run_runtime.sh [scratch-dir]
#
# 1. Benchmarks/runtime_vs_torch.py writes the benchmark model (Llama, hidden
#    256, 8 layers, 4 heads, intermediate 688, vocab 2048, f32), a PEFT LoRA
#    (r=8, alpha=16, all 7 projections), a ByteLevel BPE tokenizer, a ~3 MB
#    multilingual corpus, 16 × 64 random ids and PyTorch's logits for them,
#    then times PyTorch (forward, LoRA unmerged; tokenizers encode).
# 2. adaptermerge-runtime-bench times the same on the same files, and checks
#    its logits and token ids against PyTorch's and the tokenizers library's.
# 3. A side-by-side table with ratios and the targets.
#
# SHAPE (default 16x64) is the forward batch, sequences x tokens: 2x512, say,
# for long sequences (where attention weighs more).
#
# MODEL=FILE runs the real-model mode instead (docs/BENCHMARKS.md, "Real
# model"): FILE, a GGUF file (or a Hugging Face directory) as released, no
# adapter and no tokenizer; MODEL=real is scripts/get-real-model.sh's
# SmolLM2-135M-Instruct Q4_1. Both sides load FILE (timed; transformers
# dequantizes it to f32 with from_pretrained(dir, gguf_file=...)) and run a
# batch of real text (SHAPE, default 8x64: sentences of examples/real/*.jsonl
# and more lines, tokenized by transformers, no padding) returning the logits
# and all hidden states, and once more for the logits alone; then the
# retrieval analysis itself (the judged row): mean-pooled states of 48 real
# texts of mixed lengths in batches of 8, adaptermerge's Retrieval.pooledStates
# (packed batches, no LM head) against transformers' usual call on padded
# file-order batches, and against the base model on length-grouped batches.
# adaptermerge's logits, hidden states and pooled states are checked against
# PyTorch's.
# Each thread count in THREADS (default "2 1") is measured for both sides;
# 1 thread runs under `taskset -c 0` for both. ROUNDS (default 3) alternates
# the two sides that many times; the table shows each side's best round (the
# least disturbed by other work on a shared machine), the JSON keeps all.
# Each round times RUNS (default 10) forward passes after WARMUP (default 3).
# Before each timed step the script waits (at most WAIT_MAX seconds in all,
# default 1200) until the machine is at most MAX_BUSY % busy (default 10)
# over 3 seconds, and records that and the load average it saw.
#
# The kernels: adaptermerge's side runs with the OpenBLAS kernel set that the
# tool itself would get on this machine (its own choice, or the
# OPENBLAS_CORETYPE the environment sets), and the table names it. To see what
# another set does, SWIFT_CORETYPE=NAME runs adaptermerge's side alone with
# OPENBLAS_CORETYPE=NAME (and OPENBLAS_L2_SIZE unset); PyTorch's MKL ignores both.
#
# scratch-dir (default: a new temporary directory, deleted unless KEEP=1)
# keeps the generated files and the JSON results (torch-tN-rK.json,
# swift-tN-rK.json); in an existing one the generated files are reused and
# earlier results are replaced.
# Needs python3 (or PYTHON) with the versions in
# scripts/fixtures/requirements.txt. The results are recorded in
# docs/BENCHMARKS.md, "Model runtime" (and "Real model"). Never part of the
# test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-"2 1"}
MODEL=${MODEL:-}
[[ $MODEL != real ]] || MODEL=$(bash scripts/get-real-model.sh)
[[ -z $MODEL ]] || MODEL=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")
SHAPE=${SHAPE:-$([[ -n $MODEL ]] && echo 8x64 || echo 16x64)}
PYTHON=${PYTHON:-python3}
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-3}
MAX_BUSY=${MAX_BUSY:-10}
WAIT_MAX=${WAIT_MAX:-1200}

if [[ $# -ge 1 ]]; then
    scratch=$1
    mkdir -p "$scratch"
else
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/adaptermerge-runtime-bench.XXXXXX")
    [[ ${KEEP:-0} == 1 ]] || trap 'rm -rf "$scratch"' EXIT
fi
scratch=$(cd "$scratch" && pwd)

load() { cut -d' ' -f1-3 /proc/loadavg; }
# Percent of the machine's CPU time that was busy over the last 3 seconds (all processes; this script is idle then).
busy() {
    local a b
    read -r -a a < /proc/stat
    sleep 3
    read -r -a b < /proc/stat
    local total=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) k
    for k in 1 2 3 4 5 6 7 8; do total=$((total + b[k] - a[k])); done
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
waited=0
# Waits until the machine was at most MAX_BUSY % busy for 3 s (the load average would still count the previous
# step), or WAIT_MAX seconds have been spent waiting in all; `seen` is then the busy % and load it saw.
wait_for_quiet() {
    local b
    b=$(busy)
    while ((b > MAX_BUSY && waited < WAIT_MAX)); do
        sleep 12
        waited=$((waited + 15))
        b=$(busy)
    done
    seen="busy ${b}%, load $(load)"
}
# `pin N cmd...` runs cmd on core 0 alone when N is 1 (and taskset exists).
pin() {
    local n=$1
    shift
    if [[ $n == 1 ]] && command -v taskset >/dev/null; then taskset -c 0 "$@"; else "$@"; fi
}

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- Sources 2>/dev/null || echo ' (Sources/ modified)')"
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores ($(lscpu | sed -n 's/^Thread(s) per core:[[:space:]]*//p') thread/core), $(free -g | awk '/^Mem:/ {print $2}') GiB, $(uname -sr)"
echo "swift:   $(swift --version 2>&1 | head -1)"
echo "openblas: $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown) (pthread)"
echo "python:  $($PYTHON --version 2>&1)"
[[ -z $MODEL ]] || echo "model:   $MODEL ($(du -shL "$MODEL" | cut -f1))"
echo "load:    $(load) (1/5/15 min) at start"

swift build -c release --product adaptermerge-runtime-bench 2>&1 | tail -1
bench=$(swift build -c release --show-bin-path)/adaptermerge-runtime-bench
kernels=()
if [[ -n ${SWIFT_CORETYPE:-} ]]; then
    kernels=(env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$SWIFT_CORETYPE")
    echo "kernels: adaptermerge's side with OPENBLAS_CORETYPE=$SWIFT_CORETYPE (SWIFT_CORETYPE); this machine sets ${OPENBLAS_CORETYPE:-nothing}"
else
    echo "kernels: this machine's OpenBLAS choice (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
fi

# The real-model mode's arguments for both sides.
real=()
[[ -z $MODEL ]] || real=(--model "$MODEL")
# The generated files are reused when they are complete, of this SHAPE and (real-model mode) for this MODEL.
create=(--shape "$SHAPE")
if [[ -f $scratch/logits.safetensors && ( -n $MODEL && -f $scratch/analysis.json || -f $scratch/corpus_ids.json ) ]] &&
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
sys.exit("%dx%d" % (d["batch"], d["length"]) != sys.argv[2] or d.get("model", "") != sys.argv[3])' \
        "$scratch/inputs.json" "$SHAPE" "$MODEL" 2>/dev/null; then
    create=(--skip-create)
fi
rm -f "$scratch"/torch-t*-r*.json "$scratch"/swift-t*-r*.json  # results of an earlier run
loads=()
for t in $THREADS; do
    for ((r = 1; r <= ROUNDS; r++)); do
        wait_for_quiet
        loads+=("torch t=$t r=$r: $seen")
        pin "$t" "$PYTHON" Benchmarks/runtime_vs_torch.py "$scratch" "${create[@]}" "${real[@]}" --threads "$t" \
            --runs "$RUNS" --warmup "$WARMUP" --json-file "$scratch/torch-t$t-r$r.json"
        create=(--skip-create)
        wait_for_quiet
        loads+=("swift t=$t r=$r: $seen")
        pin "$t" "${kernels[@]}" "$bench" "$scratch" "${real[@]}" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" \
            --phases --json-file "$scratch/swift-t$t-r$r.json"
    done
done
echo
echo "before each step: CPU busy over 3 s, load average (1/5/15 min); waited ${waited} s in all for ≤ ${MAX_BUSY}% busy:"
printf '  %s\n' "${loads[@]}"

echo
python3 - "$scratch" "$THREADS" "${SWIFT_CORETYPE:-}" "$SHAPE" "$MODEL" <<'EOF'
import glob, json, os, sys

scratch, threads, forced, shape, model = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4], sys.argv[5]
# The target is set for the default kernels and the default batch (16 x 64; 8 x 64 for a real model); other runs
# are for reading, not judging.
default_shape = "8x64" if model else "16x64"
unjudged = f"kernels forced ({forced})" if forced else f"batch {shape}" if shape != default_shape else ""


def rounds(tool, t):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(scratch, f"{tool}-t{t}-r*.json")))]


def best(tool, t, get):
    """The best value of `get` over the rounds (the least disturbed round)."""
    return max(get(j) for j in rounds(tool, t))


def judged(r):
    return f"not judged: {unjudged}" if unjudged else "met" if r >= 1.5 else f"not met: {r / 1.5:.0%} of it"


def kernels(sw):
    return ", ".join(sorted({f"{j.get('blas_core', '?')}" + (f" (OPENBLAS_CORETYPE={j['openblas_coretype']})"
                                                            if j.get("openblas_coretype") else "") for j in sw}))


def ceiling(sw, theirs, t):
    """The BLAS calls of one pass replayed alone (every round; the best): the rate that no change outside the GEMM
    kernels can pass."""
    replay = [j["phases"] for j in sw if "phases" in j]
    if not replay:
        return []
    rate = sw[0]["forward"]["tokens"] / min(p["blas_total_s"] for p in replay)
    return [(f"ceiling: the BLAS calls of that pass alone, {t} thread(s)", "tok/s", rate, theirs, rate / theirs, "", "")]


rows, notes = [], []
if model:
    fwd = lambda j: j["forward"]["hidden_states"]["tokens_per_s_median"]
    logits_only = lambda j: j["forward"]["logits_only"]["tokens_per_s_median"]
    ours_pooled = lambda j: j["analysis"]["pooled"]["tokens_per_s_median"]
    usual = lambda j: j["analysis"]["usual"]["tokens_per_s_median"]
    lean = lambda j: j["analysis"]["lean_grouped"]["tokens_per_s_median"]
    for t in threads:
        sw = rounds("swift", t)
        a = rounds("torch", t)[0]["analysis"]
        r = best("swift", t, ours_pooled) / best("torch", t, usual)
        rows.append((f"retrieval analysis (what analyze runs): pooled states of {a['texts']} texts, {t} thread(s)",
                     "tok/s", best("swift", t, ours_pooled), best("torch", t, usual), r, "≥ 1.5×", judged(r)))
        rows.append((f"  the same, PyTorch with savings like ours (no LM head, batches grouped by length), {t} "
                     f"thread(s)", "tok/s", best("swift", t, ours_pooled), best("torch", t, lean),
                     best("swift", t, ours_pooled) / best("torch", t, lean), "", ""))
        r = best("swift", t, fwd) / best("torch", t, fwd)
        rows.append((f"forward, logits + all {sw[0]['forward']['hidden_states_returned']} hidden states, {t} "
                     f"thread(s)", "tok/s", best("swift", t, fwd), best("torch", t, fwd), r, "", ""))
        rows.append((f"forward, logits only, {t} thread(s)", "tok/s", best("swift", t, logits_only),
                     best("torch", t, logits_only), best("swift", t, logits_only) / best("torch", t, logits_only),
                     "", ""))
        rows += ceiling(sw, best("torch", t, fwd), t)
        # Load times: the fastest round (the least disturbed); the ratio is PyTorch's time over ours.
        ours, theirs = -best("swift", t, lambda j: -j["load_s"]), -best("torch", t, lambda j: -j["load_s"])
        rows.append((f"model load, {t} thread(s) (ratio: PyTorch's time / ours)", "s", ours, theirs, theirs / ours,
                     "", ""))
        err = max(j["forward"]["logits_max_relative_error"] for j in sw)
        serr = max(j["forward"]["hidden_states_max_relative_error"] for j in sw)
        perr = max(j["analysis"]["pooled_max_relative_error"] for j in sw)
        notes.append(f"{t} thread(s), retrieval analysis: {a['texts']} texts, {a['tokens']} tokens ({a['lengths'][0]}–"
                     f"{a['lengths'][1]} a text), batches of {a['batch_size']}: PyTorch computes "
                     f"{a['padded_tokens_file_order']} rows in file order, {a['padded_tokens_grouped']} grouped by "
                     f"length; adaptermerge packs its batches ({a['tokens']} rows) and skips the LM head; pooled "
                     f"states vs PyTorch's max |Δ|/max|value| = {perr:.1e} (worst layer)")
        notes.append(f"{t} thread(s): medians of {sw[0]['forward']['hidden_states']['runs']} forward passes, best of "
                     f"{len(sw)} round(s); OpenBLAS kernels {kernels(sw)}; weights "
                     f"{'widened to f32' if sw[0]['model']['widened'] else 'stored'} at load; vs PyTorch: logits max "
                     f"|Δ|/max|logit| = {err:.1e}, hidden states (worst state) max |Δ|/max|value| = {serr:.1e}")
else:
    fwd = lambda j: j["forward"]["lora_unmerged"]["tokens_per_s_median"]
    base = lambda j: j["forward"]["base"]["tokens_per_s_median"]
    for t in threads:
        sw = rounds("swift", t)
        ours = best("swift", t, lambda j: j["tokenizer"]["encode_1_thread"]["mb_per_s_median"])
        r = best("swift", t, fwd) / best("torch", t, fwd)
        rows.append((f"forward, LoRA unmerged, {t} thread(s)", "tok/s", best("swift", t, fwd), best("torch", t, fwd),
                     r, "≥ 1.5×", judged(r)))
        rows.append((f"forward, base model, {t} thread(s)", "tok/s", best("swift", t, base), best("torch", t, base),
                     best("swift", t, base) / best("torch", t, base), "", ""))
        rows += ceiling(sw, best("torch", t, fwd), t)
        where = "core 0 only" if t == "1" else "unpinned"
        theirs = best("torch", t, lambda j: j["tokenizer"]["encode_batch_1_thread"]["mb_per_s_median"])
        rows.append((f"tokenizer, 1 thread vs encode_batch on 1 thread ({where})", "MB/s", ours, theirs,
                     ours / theirs, "≥ 1 MB/s", "met" if ours >= 1 else "not met"))
        theirs = best("torch", t, lambda j: j["tokenizer"]["encode_loop_1_thread"]["mb_per_s_median"])
        rows.append((f"tokenizer, 1 thread vs encode() per line from Python ({where})", "MB/s", ours, theirs,
                     ours / theirs, "", ""))
        if t != "1":
            theirs = best("torch", t, lambda j: j["tokenizer"]["encode_batch"]["mb_per_s_median"])
            rows.append((f"tokenizer, 1 thread vs encode_batch on {t} threads", "MB/s", ours, theirs, ours / theirs,
                         "", ""))
        err = max(j["forward"]["logits_max_relative_error"] for j in sw)
        ids = all(j["tokenizer"]["ids_match"] for j in sw)
        notes.append(f"{t} thread(s): medians of {sw[0]['forward']['lora_unmerged']['runs']} forward passes, best of "
                     f"{len(sw)} round(s); OpenBLAS kernels {kernels(sw)}; logits vs PyTorch max |Δ|/max|logit| = "
                     f"{err:.1e}; tokenizer ids equal the tokenizers library's: {'yes' if ids else 'NO'}")

print("| measurement | unit | adaptermerge | PyTorch" + ("" if model else " / tokenizers") + " | ratio | target | |")
print("|---|---|---:|---:|---:|---|---|")
for name, unit, a, b, r, target, met in rows:
    fmt = "{:.0f}" if unit == "tok/s" else "{:.2f}"
    print(f"| {name} | {unit} | {fmt.format(a)} | {fmt.format(b)} | {r:.2f}× | {target} | {met} |")
print()
for n in notes:
    print(n)
v = rounds("torch", threads[0])[0]
vv = v["versions"]
if model:
    m = v["model"]
    print(f"model: {m['path']} ({m['bytes'] / 1e6:.0f} MB): {m['type']}, hidden {m['hidden']}, {m['layers']} layers, "
          f"{m['heads']} heads ({m['kv_heads']} KV), intermediate {m['intermediate']}, vocab {m['vocab']}"
          f"{', tied head' if m['tied_head'] else ''}, {m['parameters'] / 1e6:.1f} M parameters; PyTorch holds it "
          f"as {m['dtype']}")
    with open(os.path.join(scratch, "inputs.json"), encoding="utf-8") as f:
        print(f"forward batch: {m['batch']} x {m['length']} tokens of {json.load(f)['text']}")
    print(f"PyTorch {vv['torch']} ({v['forward']['attn_implementation']} attention), transformers "
          f"{vv['transformers']}, gguf {vv.get('gguf', '-')}, accelerate {vv.get('accelerate', '-')}, tokenizers "
          f"{vv['tokenizers']}, python {vv['python']}")
else:
    print(f"forward batch: {v['model']['batch']} x {v['model']['length']} tokens, no padding")
    print(f"PyTorch {vv['torch']} ({v['forward']['attn_implementation']} attention), transformers "
          f"{vv['transformers']}, peft {vv['peft']}, tokenizers {vv['tokenizers']}, python {vv['python']}")
for t in threads:
    ph = rounds("swift", t)[0].get("phases")
    if not ph:
        continue
    print()
    print(f"adaptermerge, {t} thread(s), round 1: BLAS replay of one "
          f"{'forward pass' if model else 'LoRA forward pass'} (GFLOP/s per core)")
    for p in ph["blas"]:
        if not p.get("what_if"):
            print(f"  {p['phase']:<60} {p['median_s'] * 1e3:7.1f} ms  {p.get('gflops_per_core', float('nan')):6.1f}")
    if "reference_sgemm_gflops" in ph:
        print(f"  {'a 1024³ sgemm on one core, for reference':<60} {'':10}  {ph['reference_sgemm_gflops']:6.1f}")
    print(f"  {'all BLAS':<60} {ph['blas_total_s'] * 1e3:7.1f} ms of {ph['forward_median_s'] * 1e3:.1f} ms measured")
    print(f"  {'the rest (norms, RoPE, softmax, SiLU, copies)':<60} {ph['rest_s'] * 1e3:7.1f} ms")
    for p in ph["blas"]:
        if p.get("what_if"):
            print(f"  {p['phase']:<60} {p['median_s'] * 1e3:7.1f} ms")
EOF
