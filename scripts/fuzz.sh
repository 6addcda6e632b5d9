#!/usr/bin/env bash
# Fuzzes every file reader (safetensors, .npy, PNG, IDX, gzip) with libFuzzer and AddressSanitizer.
#   scripts/fuzz.sh [SECONDS]    fuzz each reader for SECONDS (default 60)
#   scripts/fuzz.sh --runs N     N generated inputs per reader after the seeds (scripts/test.sh runs this)
# Seeds: Fuzz/corpus/<reader>; crash reproductions, replayed first and kept for good: Fuzz/regressions/<reader>.
# A crash leaves its input in Fuzz/regressions/<reader>/ (commit it with the fix) and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--runs" ]; then limit="-runs=${2:?--runs needs a count}"; else limit="-max_total_time=${1:-60}"; fi
readers=(Safetensors Numpy PNG IDX Gzip)
log=.build-fuzz/logs
mkdir -p "$log"
for reader in "${readers[@]}"; do
  GLASSBOX_FUZZ=1 swift build --scratch-path .build-fuzz --product "Fuzz$reader" -Xswiftc -sanitize=fuzzer,address \
    >"$log/build-$reader.log" 2>&1 || { echo "fuzz: building Fuzz$reader failed; see $log/build-$reader.log" >&2; exit 1; }
done
status=0
for reader in "${readers[@]}"; do
  binary=.build-fuzz/debug/Fuzz$reader
  work=$(mktemp -d)
  # Known crash reproductions first: each must now be handled without a crash.
  if ! "$binary" -runs=1 Fuzz/regressions/$reader/* >"$log/$reader-regressions.log" 2>&1; then
    echo "fuzz: $reader crashes on a kept regression input; see $log/$reader-regressions.log" >&2
    status=1
  fi
  if "$binary" "$limit" -max_len=65536 -rss_limit_mb=6144 -timeout=20 -print_final_stats=1 \
      -artifact_prefix="Fuzz/regressions/$reader/crash-" "$work" "Fuzz/corpus/$reader" >"$log/$reader.log" 2>&1; then
    executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log/$reader.log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $reader: $executions inputs, no crash"
  else
    echo "fuzz: $reader CRASHED; the input is in Fuzz/regressions/$reader/ and the log in $log/$reader.log" >&2
    status=1
  fi
  rm -rf "$work"
done
exit $status
