#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of adaptermerge's file readers.
#
#   Fuzz/run.sh <target> [seconds] [extra libFuzzer flags...]   fuzz for `seconds` (default 300)
#   Fuzz/run.sh <target> 0                                     build only
#   Fuzz/run.sh <target> <input file>...                       run inputs once (reproduce a crash)
#
# Targets: lora (LoraFileAdapter + LoraContainerReader.verifyAll),
#          safetensors (SafeTensorsFile + every tensor + PEFTDirectoryAdapter),
#          json (JSONValue + PEFTConfig + AdapterMetadata + write/re-parse).
#
# Not part of Package.swift: the module sources are compiled directly with
# `swiftc -sanitize=fuzzer,address`, so `swift build` / `swift test` never see
# this. Binaries, the growing corpus and crash artifacts go to Fuzz/out/
# (gitignored); the committed seeds in Fuzz/corpus/<target>/ are only read.
# Environment: SWIFTC (default: swiftc on PATH, else /opt/swift/usr/bin/swiftc);
# FUZZ_REF=<git revision> builds from that commit's Sources/ instead of the
# working tree; FUZZ_PRINT_ERRORS=1 prints each rejected input's error;
# FUZZ_STRICT_ERRORS=1 treats an error without a location (not FormatError /
# JSONParseError) as a crash.
set -euo pipefail
# Swift's own crash backtracer runs inside the crashing process and trips
# AddressSanitizer (a stack-buffer-underflow in CrashHandlerLinux.cpp) that
# hides the real trap; leave crash reports to libFuzzer/ASan.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
target=$1; shift
case $target in
    lora)        entry=FuzzLora.swift;        max_len=32768 ;;
    safetensors) entry=FuzzSafeTensors.swift; max_len=65536 ;;
    json)        entry=FuzzJSON.swift;        max_len=16384 ;;
    *) echo "unknown target '$target' (lora, safetensors, json)" >&2; usage ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=Fuzz/out
build=$out/build
bin=$out/fuzz-$target
swiftc=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -wmo -swift-version 6 -use-ld=lld)
mkdir -p "$build/modules" "$out/corpus/$target" "$out/artifacts/$target"

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
stale() {  # stale <output> <stamp> <inputs...>: missing, other sources, or an input is newer
    local output=$1 stamp=$2; shift 2
    [[ ! -e $output || ! -f $stamp || $(cat "$stamp") != "$identity" ]] && return 0
    [[ -n $(find "$@" -newer "$output" -print -quit) ]]
}

# Tensors is its own module (AdapterFormat imports it); it is built once.
tensors_obj=$build/Tensors.o
if stale "$tensors_obj" "$build/Tensors.stamp" "$src/Tensors" Fuzz/run.sh; then
    echo "building Tensors from $identity (fuzz instrumentation)..." >&2
    rm -f "$tensors_obj"
    "$swiftc" "${flags[@]}" -module-name Tensors -I "$src/CBLAS" \
        -emit-module -emit-module-path "$build/modules/Tensors.swiftmodule" \
        -c "$src"/Tensors/*.swift -o "$tensors_obj"
    echo "$identity" > "$build/Tensors.stamp"
fi

# The target: Sources/AdapterFormat/*.swift plus the fuzz entry, as module
# AdapterFormat (so the lora fix-ups can use the reader's internal helpers).
if stale "$bin" "$build/$target.stamp" "$src/AdapterFormat" "$tensors_obj" Fuzz/Common.swift "Fuzz/$entry" Fuzz/run.sh; then
    echo "building $bin from $identity..." >&2
    mkdir -p "$build/$target"
    "$swiftc" "${flags[@]}" -module-name AdapterFormat \
        -emit-module -emit-module-path "$build/$target/AdapterFormat.swiftmodule" \
        -I "$build/modules" -I "$src/CBLAS" -I "$src/CZstd" \
        -c "$src"/AdapterFormat/*.swift Fuzz/Common.swift "Fuzz/$entry" -o "$build/$target/AdapterFormat.o"
    "$swiftc" -sanitize=fuzzer,address -use-ld=lld "$build/$target/AdapterFormat.o" "$tensors_obj" \
        -lopenblas -lzstd -o "$bin"
    echo "$identity" > "$build/$target.stamp"
fi

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
