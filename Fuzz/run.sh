#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of adaptermerge's file readers.
#
#   Fuzz/run.sh <target> [seconds] [extra libFuzzer flags...]   fuzz for `seconds` (default 300)
#   Fuzz/run.sh <target> 0                                     build only
#   Fuzz/run.sh all 0                                          build every target (CI)
#   Fuzz/run.sh <target> <input file>...                       run inputs once (reproduce a crash)
#
# Targets: lora, safetensors, json, tokenizer, config, jsonl, recipe, gguf, mo
# (what each exercises and its input layout: the header of Fuzz/Fuzz<Target>.swift
# and docs/ROBUSTNESS.md).
#
# Not part of Package.swift: the library modules a target needs (Tensors,
# AdapterFormat, AdapterMath, Transformer, and the C kernels) are compiled
# once each with `swiftc -sanitize=fuzzer,address` into Fuzz/out/build/, and
# each target is its small entry file (plus Fuzz/Common.swift) linked against
# them, so `swift build` / `swift test` never see this. AdapterFormat is built
# with -enable-testing: the lora entry uses the reader's internal helpers
# through `@testable import`. Binaries, the growing corpus and crash artifacts
# go to Fuzz/out/ (gitignored); the committed seeds in Fuzz/corpus/<target>/
# are only read.
# Environment: SWIFTC (default: swiftc on PATH, else /opt/swift/usr/bin/swiftc);
# CLANG (default: clang next to swiftc); FUZZ_OPT=-Onone compiles without
# optimisation (CI's build-only check: about 10x faster to build, far slower to
# fuzz; its own build directory); FUZZ_REF=<git revision> builds from
# that commit's Sources/ instead of the working tree; FUZZ_PRINT_ERRORS=1
# prints each rejected input's error; FUZZ_STRICT_ERRORS=1 treats an error
# that names no location as a crash (see Fuzz/Common.swift).
set -euo pipefail
# Swift's own crash backtracer runs inside the crashing process and trips
# AddressSanitizer (a stack-buffer-underflow in CrashHandlerLinux.cpp) that
# hides the real trap; leave crash reports to libFuzzer/ASan.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}

all_targets=(lora safetensors json tokenizer config jsonl recipe gguf mo)
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
target=$1; shift

# target -> entry file, libFuzzer -max_len, library modules (in build order)
describe() {
    case $1 in
        lora)        entry=FuzzLora.swift;        max_len=32768; modules=(Tensors AdapterFormat) ;;
        safetensors) entry=FuzzSafeTensors.swift; max_len=65536; modules=(Tensors AdapterFormat) ;;
        json)        entry=FuzzJSON.swift;        max_len=16384; modules=(Tensors AdapterFormat) ;;
        tokenizer)   entry=FuzzTokenizer.swift;   max_len=32768; modules=(Tensors AdapterFormat AdapterMath CKernels Transformer) ;;
        config)      entry=FuzzConfig.swift;      max_len=8192;  modules=(Tensors AdapterFormat AdapterMath CKernels Transformer) ;;
        jsonl)       entry=FuzzJSONLines.swift;   max_len=16384; modules=(Tensors AdapterFormat AdapterMath CKernels Transformer) ;;
        recipe)      entry=FuzzRecipe.swift;      max_len=8192;  modules=(Tensors AdapterFormat AdapterMath) ;;
        gguf)        entry=FuzzGGUF.swift;        max_len=65536; modules=(Tensors AdapterFormat) ;;
        mo)          entry=FuzzMO.swift;          max_len=16384; modules=(Tensors AdapterFormat) ;;
        *) echo "unknown target '$1' (${all_targets[*]}, all)" >&2; usage ;;
    esac
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=Fuzz/out
swiftc=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
clang=${CLANG:-$(dirname "$(readlink -f "$swiftc")")/clang}
[[ -x $clang ]] || clang=$(command -v clang)
opt=${FUZZ_OPT:--O}
case $opt in -O|-Onone) ;; *) echo "FUZZ_OPT is -O (default) or -Onone" >&2; exit 2 ;; esac
# -package-name as SwiftPM passes it: the modules use the `package` access level.
flags=(-sanitize=fuzzer,address -parse-as-library "$opt" -g -wmo -swift-version 6 -use-ld=lld -package-name adaptermerge)
# Sources: the working tree, or with FUZZ_REF=<git revision> that revision's
# Sources/ (extracted under Fuzz/out/src/), e.g. while others edit the tree.
src=Sources
identity=worktree
if [[ -n ${FUZZ_REF:-} ]]; then
    identity=$(git rev-parse --verify "$FUZZ_REF^{commit}")
    src=$out/src/$identity/Sources
    if [[ ! -d $src ]]; then
        mkdir -p "$out/src/$identity"
        git archive "$identity" Sources | tar -x -C "$out/src/$identity"
    fi
fi
# One build directory per source identity (Fuzz/out/build-worktree,
# Fuzz/out/build-<commit>, with a -Onone suffix for FUZZ_OPT=-Onone), so a working-tree build (CI) and a FUZZ_REF build
# never invalidate each other; Fuzz/out/fuzz-<target> links to the last one built.
build=$out/build-$identity
[[ $identity == worktree ]] || build=$out/build-${identity:0:12}
[[ $opt == -O ]] || build=$build$opt
mkdir -p "$build/modules"
stale() {  # stale <output> <stamp> <inputs...>: missing, other sources, or an input is newer
    local output=$1 stamp=$2; shift 2
    [[ ! -e $output || ! -f $stamp || $(cat "$stamp") != "$identity" ]] && return 0
    [[ -n $(find "$@" -newer "$output" -print -quit) ]]
}
includes=(-I "$build/modules" -I "$src/CBLAS" -I "$src/CSystem" -I "$src/CZstd" -I "$build/CKernels")

# One library module: Sources/<name>/*.swift -> $build/<name>.o + modules/<name>.swiftmodule,
# rebuilt when its sources, the modules below it or this script change.
# CKernels is C: compiled with clang (ASan, no coverage: it is arithmetic on
# floats, not input handling) behind a generated module map.
built=()
build_module() {
    local name=$1; shift
    local obj=$build/$name.o
    if [[ $name == CKernels ]]; then
        if stale "$obj" "$build/$name.stamp" "$src/CKernels" Fuzz/run.sh; then
            echo "building CKernels from $identity (clang, ASan)..." >&2
            mkdir -p "$build/CKernels"
            printf 'module CKernels {\n    header "%s"\n    export *\n}\n' "$root/$src/CKernels/include/CKernels.h" \
                > "$build/CKernels/module.modulemap"
            "$clang" -O2 -g -fsanitize=address -fPIC -I "$src/CKernels/include" \
                -c "$src/CKernels/kernels.c" -o "$obj"
            echo "$identity" > "$build/$name.stamp"
        fi
    elif stale "$obj" "$build/$name.stamp" "$src/$name" Fuzz/run.sh "${built[@]/#/$build/}"; then
        echo "building $name from $identity (fuzz instrumentation)..." >&2
        rm -f "$obj"
        "$swiftc" "${flags[@]}" -enable-testing -module-name "$name" "${includes[@]}" \
            -emit-module -emit-module-path "$build/modules/$name.swiftmodule" \
            -c "$src/$name"/*.swift -o "$obj"
        echo "$identity" > "$build/$name.stamp"
    fi
    built+=("$name.o")
}

# One target: its modules, then Fuzz/Common.swift + its entry as module Fuzz_<target>, linked.
build_target() {
    local t=$1
    describe "$t"
    built=()
    for m in "${modules[@]}"; do build_module "$m"; done
    bin=$build/fuzz-$t
    local objs=("${built[@]/#/$build/}")
    if stale "$bin" "$build/$t.stamp" Fuzz/Common.swift "Fuzz/$entry" Fuzz/run.sh "${objs[@]}"; then
        echo "building $bin from $identity..." >&2
        "$swiftc" "${flags[@]}" -module-name "Fuzz_$t" "${includes[@]}" \
            -c Fuzz/Common.swift "Fuzz/$entry" -o "$build/$t.o"
        "$swiftc" -sanitize=fuzzer,address -use-ld=lld "$build/$t.o" "${objs[@]}" \
            -lopenblas -lzstd -o "$bin"
        echo "$identity" > "$build/$t.stamp"
    fi
    ln -sfn "${bin#"$out"/}" "$out/fuzz-$t"
}

if [[ $target == all ]]; then
    [[ ${1:-0} == 0 ]] || { echo "'all' only builds (Fuzz/run.sh all 0): fuzz one target at a time" >&2; exit 2; }
    for t in "${all_targets[@]}"; do build_target "$t"; done
    echo "built ${all_targets[*]} in $out/" >&2
    exit 0
fi
build_target "$target"
mkdir -p "$out/corpus/$target" "$out/artifacts/$target"

seconds=${1:-300}
if [[ $# -ge 1 && -f $1 ]]; then
    # Reproduce: run the given inputs once each.
    exec "$bin" -rss_limit_mb=2048 -timeout=10 "$@"
fi
[[ $seconds =~ ^[0-9]+$ ]] || usage
[[ $# -ge 1 ]] && shift
[[ $seconds -eq 0 ]] && { echo "built $bin" >&2; exit 0; }

dict=()
[[ -f Fuzz/dict/$target.dict ]] && dict=(-dict="Fuzz/dict/$target.dict")
seeds=()
[[ -d Fuzz/corpus/$target ]] && seeds=("Fuzz/corpus/$target")

# One process, in-process fuzzing (no -jobs/-workers fork): the first corpus
# directory collects new inputs, the committed seeds are read only.
exec "$bin" "$out/corpus/$target" "${seeds[@]}" "${dict[@]}" \
    -max_len=$max_len -rss_limit_mb=2048 -timeout=10 -max_total_time="$seconds" \
    -artifact_prefix="$out/artifacts/$target/" -print_final_stats=1 "$@"
