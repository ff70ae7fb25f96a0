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

# scrapyd for its deployment test (`make test` sets WITH_SCRAPYD=1): a venv of its own, because
# scrapyd needs setuptools < 81 and scrapyd-deploy >= 77 (pyproject's license field) while vocwatch
# does not care; it borrows .venv's packages (scrapy, twisted, ...) through a .pth file.
if [ "${WITH_SCRAPYD:-0}" = 1 ] && [ ! -f .venv-scrapyd/.installed-1 ]; then
    echo "bootstrap: installing scrapyd and scrapyd-client into .venv-scrapyd" >&2
    "$PYTHON" -m venv .venv-scrapyd
    .venv-scrapyd/bin/python -m pip install -q --no-deps 'setuptools>=77,<81' 'scrapyd>=1.6,<2' \
        'scrapyd-client>=2.0,<3' 'uberegg>=0.1' 2>&1 | grep -v '^WARNING: Location' >&2 || true
    main_site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    sd_site=$(.venv-scrapyd/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$main_site" > "$sd_site/vocwatch-venv.pth"
    .venv-scrapyd/bin/python -c 'import scrapyd, scrapyd_client' \
        && touch .venv-scrapyd/.installed-1 \
        || echo "bootstrap: scrapyd did not install; tests/test_scrapyd.py will skip" >&2
fi
