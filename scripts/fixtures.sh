#!/usr/bin/env bash
# Regenerates the committed test fixtures from PyTorch, Captum and scikit-learn (CI never runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/python-tools.sh
for generator in make_fixtures make_attribution_fixtures make_float64_references make_evaluation_fixtures make_transparent_fixtures; do
  .venv-tools/bin/python "tools/$generator.py"
done
