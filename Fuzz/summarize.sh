#!/usr/bin/env bash
# Prints one docs/ROBUSTNESS.md table row's numbers from a libFuzzer log
# (the output of Fuzz/run.sh <target> <seconds>, which prints final stats):
#
#   Fuzz/summarize.sh <log>
#
# cov/ft/corpus after loading the seeds (INITED) and at the end (DONE, or the
# last status line when the run stopped on a finding), executions, exec/s,
# peak RSS, the slowest input, and the crash / timeout / OOM reports.
set -euo pipefail
log=$1
field() { sed -nE "s/.* $1: ([^ ]+).*/\1/p" <<<"$2"; }
inited=$(grep -m1 -E '^#[0-9]+[[:space:]]+INITED' "$log" || true)
last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|INITED)' "$log" | tail -n 1)
stat() { sed -nE "s/^stat::$1:[[:space:]]+([0-9.]+)/\1/p" "$log" | tail -n 1; }
echo "cov: $(field cov "$inited") -> $(field cov "$last")"
echo "ft: $(field ft "$inited") -> $(field ft "$last")"
echo "corpus: $(field corp "$inited") -> $(field corp "$last")"
echo "executions: $(stat number_of_executed_units)"
echo "duration s: $(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$log" | tail -n 1)"
echo "exec/s: $(stat average_exec_per_sec)"
echo "peak RSS MB: $(stat peak_rss_mb)"
echo "slowest input s: $(stat slowest_unit_time_sec)"
echo "crashes: $(grep -cE 'ERROR: (libFuzzer: deadly signal|AddressSanitizer|LeakSanitizer)' "$log" || true)"
echo "timeouts: $(grep -c 'ERROR: libFuzzer: timeout' "$log" || true)"
echo "OOMs: $(grep -c 'ERROR: libFuzzer: out-of-memory' "$log" || true)"
