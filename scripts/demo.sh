#!/usr/bin/env bash
# The main job: installs what is missing, builds, trains the demo CNN on the bundled
# MNIST digits and writes runs/demo/ (extra arguments go to `glassbox demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product glassbox
.build/release/glassbox demo --out runs/demo "$@"
