#!/usr/bin/env bash
# The Python side of fixtures and benchmarks (never needed to build, test or run):
# Debian's python3-torch and a venv with the pinned PyPI packages in tools/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for p in python3-torch python3-venv; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -d .venv-tools ] || /usr/bin/python3 -m venv --system-site-packages .venv-tools
.venv-tools/bin/pip install -q -r tools/requirements.txt
# torchattacks' own requirements would pull PyPI's torch and torchvision over Debian's torch; it needs neither.
.venv-tools/bin/pip install -q --no-deps torchattacks==3.5.1
