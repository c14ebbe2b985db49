#!/usr/bin/env bash
# Create .venv and install weibao with its development tools, on a fresh Debian 12
# machine with nothing but python3. Re-running is cheap: pip runs again only when
# pyproject.toml changed. Usage: scripts/bootstrap.sh [--peers]
#   --peers  also install the real peers the tests run against (PostgreSQL, ...)
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the test suite starts as real peers. Each entry: "binary-or-path package".
PEERS=(
  "/usr/lib/postgresql postgresql"
  "snmpd snmpd"
  "snmpget snmp"
  "snmptrapd snmptrapd"
  "/usr/sbin/sshd openssh-server"
  "promtool prometheus"
  "prometheus-alertmanager prometheus-alertmanager"
  "systemd-analyze systemd"
  "pdftotext poppler-utils"
  "/usr/bin/chromium chromium"
)

# System libraries the desk itself needs at run time: WeasyPrint renders PDF reports
# with Pango, and Chinese text needs a CJK font that the PDF embeds.
RUNTIME=(
  "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc fonts-noto-cjk"
  "/usr/lib/x86_64-linux-gnu/libpangoft2-1.0.so.0 libpangoft2-1.0-0"
)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "bootstrap: need root to run: $*" >&2; return 1; fi
}

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "bootstrap: missing system packages ($*) and no apt-get: install them by hand" >&2
    return 1
  fi
  if [ "$apt_updated" = 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  # Keep the packages' own services (snmpd, sshd, prometheus, ...) from starting: tests
  # start their own instances on loopback ports.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"; made_policy=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  if [ "$made_policy" = 1 ]; then as_root rm -f "$policy"; fi
}

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null; then
  apt_install python3
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: weibao needs Python >= 3.11; $("$python" --version) found" >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  apt_install python3-venv
fi

wanted=("${RUNTIME[@]}")
if [ "${1:-}" = "--peers" ]; then wanted+=("${PEERS[@]}"); fi
missing=()
for entry in "${wanted[@]}"; do
  probe=${entry% *}; pkg=${entry#* }
  # A library path names one architecture: also accept it under any other multiarch dir.
  base=$(basename "$probe")
  if [ ! -e "$probe" ] && ! command -v "$probe" >/dev/null 2>&1 \
     && ! ls /usr/lib/*/"$base" >/dev/null 2>&1; then missing+=("$pkg"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing system packages (apt-get, a minute or two): ${missing[*]}"
  apt_install "${missing[@]}"
fi

stamp=.venv/.weibao-installed
# pyproject and the top-level packages: an editable install maps packages found when it ran.
want=$( { cat pyproject.toml; ls -d */__init__.py 2>/dev/null; } | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv..."
  "$python" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  if [ -f "$stamp" ]; then
    echo "bootstrap: pyproject.toml changed: updating weibao in .venv..."
  else
    echo "bootstrap: installing weibao and its dependencies into .venv (first run, about a minute)..."
  fi
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
  echo "bootstrap: .venv is ready"
fi
