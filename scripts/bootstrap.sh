#!/usr/bin/env bash
# Set up everything vocwatch needs on a fresh Debian machine (run as root or with sudo):
# Debian packages, a virtualenv in .venv, vocwatch and its Python dependencies.
# Idempotent and quick when nothing changed: a stamp records what was installed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# Debian packages the test suite or the product needs: chromium for the dashboard's browser tests and
# for render = "browser" sources; redis-server for distributed crawling (the tests start their own on a free port).
APT_PACKAGES=${APT_PACKAGES:-chromium redis-server tinyproxy}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: vocwatch needs Python >= 3.11 (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    apt_install python3-venv
fi
# shellcheck disable=SC2086
[ -n "$APT_PACKAGES" ] && apt_install $APT_PACKAGES

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "bootstrap: installing vocwatch and its Python dependencies into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' >&2 || true
    .venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' >&2 || true
    .venv/bin/python -c 'import scrapy, snownlp, jieba, langdetect, vaderSentiment, pytest' \
        || { echo "bootstrap: Python dependencies failed to install" >&2; exit 1; }
    rm -f .venv/.installed-*
    touch "$stamp"
fi
