#!/usr/bin/env bash
# Installs the system libraries Glassbox needs, only when missing (idempotent, quiet when done).
set -euo pipefail

packages=(libtorch-dev libdnnl-dev libgloo-dev libopenblas0-pthread zlib1g-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "installing ${missing[*]} (libtorch is about 40 s)..."
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "error: Swift is not on PATH; install Swift 6 first (https://swift.org/install)" >&2; exit 1; }

# libtorch must use OpenBLAS, not the reference BLAS (about 50x slower).
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *) echo "warning: libblas.so.3 resolves to ${blas:-nothing}, not OpenBLAS; run: update-alternatives --config libblas.so.3-x86_64-linux-gnu" >&2 ;;
esac
