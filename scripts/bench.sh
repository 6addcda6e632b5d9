#!/usr/bin/env bash
# Times attribution against Captum on the same machine state (installs the peer once).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/python-tools.sh
swift build -c release --product glassbox
.build/release/glassbox bench attribution "$@"
