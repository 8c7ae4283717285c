#!/usr/bin/env bash
# Install clipsearch's requirements (and with --dev, what the tests need: pytest, Playwright and
# Debian's Chromium). Safe to run again: what is installed already is skipped quickly.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore
cd "$(dirname "$0")/.."
dev=0
[[ "${1:-}" == "--dev" ]] && dev=1
python -m pip install --quiet --disable-pip-version-check -r requirements.txt
python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
if (( dev )); then
  python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  if ! command -v chromium >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
    else
      echo "note: no chromium and no apt-get: the browser tests will be skipped" >&2
    fi
  fi
fi
