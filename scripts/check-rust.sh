#!/usr/bin/env bash
# Fails with a way forward when the Rust toolchain is older than Cargo.toml's `rust-version`,
# instead of letting cargo fail later on some dependency's newer syntax.
set -euo pipefail
cd "$(dirname "$0")/.."

need=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml)
if ! command -v rustc >/dev/null 2>&1; then
  echo "deps: rustc not found. Install Rust $need or newer: https://rustup.rs (then: rustup default stable)" >&2
  exit 1
fi
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]; then
  echo "deps: Rust $have is older than the $need this crate needs; run 'rustup update stable'" \
    "(or install a newer toolchain from https://rustup.rs)" >&2
  exit 1
fi
