#!/usr/bin/env bash
# Runs a command and reports its wall time and peak memory: VmHWM (peak RSS, as the kernel keeps it)
# and the peaks of RssAnon (heap and stacks) and RssFile (mapped file pages, which the kernel can drop
# and read again), sampled from /proc/PID/status every 20 ms.
#
#   Benchmarks/peak_memory.sh COMMAND [ARGS...]
#
# Prints one line to stderr: `peak: wall 12.3 s, VmHWM 9876 MiB, RssAnon 1234 MiB, RssFile 8642 MiB`.
# The command's own output and exit status pass through.
set -uo pipefail
start=$(date +%s.%N)
"$@" &
pid=$!
hwm=0 anon=0 file=0
while kill -0 "$pid" 2>/dev/null; do
    if status=$(cat "/proc/$pid/status" 2>/dev/null); then
        read -r h a f < <(awk '/^VmHWM:/ {h=$2} /^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} END {print h+0, a+0, f+0}' <<<"$status")
        ((h > hwm)) && hwm=$h
        ((a > anon)) && anon=$a
        ((f > file)) && file=$f
    fi
    sleep 0.02
done
wait "$pid"
rc=$?
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v h="$hwm" -v a="$anon" -v f="$file" 'BEGIN {
    printf "peak: wall %.1f s, VmHWM %d MiB, RssAnon %d MiB, RssFile %d MiB\n", e - s, h / 1024, a / 1024, f / 1024 }' >&2
exit "$rc"
