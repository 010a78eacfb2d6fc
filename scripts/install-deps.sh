#!/usr/bin/env bash
# Installs what the tests need that cargo does not bring, idempotently:
#   - the Vulkan loader and Mesa's software driver (lavapipe), so wgpu finds an adapter on GPU-less CI;
#   - a Python virtual environment with pydrake, the real client and ground truth for the renderer.
# Re-running it is cheap: each step checks first and does nothing when its result is already there.
set -euo pipefail

VENV=${VENV:-.venv}
DRAKE_VERSION=${DRAKE_VERSION:-1.51.1}
APT_PACKAGES=(libvulkan1 mesa-vulkan-drivers libegl1 libegl-mesa0 libgl1-mesa-dri git)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "deps: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "deps: apt-get not found; install these yourself: ${missing[*]}" >&2
    exit 1
  fi
fi

if ! "$VENV/bin/python" -c "import pydrake, sys; sys.exit(0)" 2>/dev/null; then
  echo "deps: creating $VENV with drake==$DRAKE_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "drake==$DRAKE_VERSION" pytest numpy pillow
fi
echo "deps: ok"
