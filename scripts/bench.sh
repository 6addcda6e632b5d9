#!/usr/bin/env bash
# Times Glassbox against its reference libraries on the same machine state (installs the peers once):
#   scripts/bench.sh [attribution|transparent|metrics|text|superposition|geometry|sae|attack|visualize] [flags]   (default: attribution, against Captum)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/python-tools.sh
swift build -c release --product glassbox
suite=attribution
case "${1:-}" in attribution|transparent|metrics|text|superposition|geometry|sae|attack|visualize) suite=$1; shift ;; esac
.build/release/glassbox bench "$suite" "$@"
