#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite; on failure repeats each
# failed expectation at the end, so a log cut to its last lines still says what broke.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
# A short fuzz run of every file reader (libFuzzer + AddressSanitizer, a fixed number of inputs), and
# the kept crash reproductions replayed; `scripts/fuzz.sh SECONDS` fuzzes for longer.
scripts/fuzz.sh --runs 2000 || exit 1
mkdir -p .build
log=.build/test-output.log
# Convolution-path measurements taken while the tests keep both cores busy say nothing about
# later real runs: keep them out of the user's cache (~/.cache/glassbox/convolution-paths.json).
calibration=$(mktemp -d)
trap 'rm -rf "$calibration"' EXIT
GLASSBOX_CALIBRATION_FILE="$calibration/convolution-paths.json" swift test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo
  echo "=== failures (full log: $log) ==="
  grep -E "recorded an issue|error:|Fatal error|Crash|Illegal instruction" "$log" | grep -v "^\[" | head -40
fi
exit "$status"
