#!/usr/bin/env bash
# Installs everything the tests, the offline plan and the local shop need, idempotently:
# Debian packages (PostgreSQL, Redis, Chromium, wrk, nftables, Node.js for the CRD schemas), the project's virtual
# environment, the scanners' own virtual environment and the npm packages that carry CRD schemas.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# fonts-lohit-beng-bengali: a font with the taka sign (৳) and Bengali, so Chromium's screenshots show prices.
# nftables, iproute2: the K3s node's metadata firewall is checked and exercised in a network namespace.
# redis-server: the shared rate-limit store two shops count in (tests/reliability/test_shared_rate_limits.py).
APT_PACKAGES=(postgresql chromium chromium-driver wrk fonts-lohit-beng-bengali nftables iproute2 cloud-init shellcheck
  redis-server)
# Node.js (for the npm packages that carry CRD schemas) only when the machine has none of its own.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

install_venv() { # $1 venv dir, $2 requirements file
  local venv=$1 reqs=$2 stamp="$1/.installed-$(sha256sum "$2" app/requirements.txt requirements.txt | sha256sum | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  echo "bootstrap: installing $reqs into $venv"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$reqs"
  rm -f "$venv"/.installed-*; touch "$stamp"
}
install_venv .venv requirements-dev.txt
install_venv .venv-scanners requirements-scanners.txt

# Reinstalled whenever package-lock.json changes (a new pin), not only when node_modules is missing.
if [ -f tools/crd-schemas/package.json ]; then
  crd_stamp="tools/crd-schemas/node_modules/.installed-$(sha256sum tools/crd-schemas/package-lock.json | cut -c1-16)"
  if [ ! -f "$crd_stamp" ]; then
    echo "bootstrap: installing CRD schema packages from npm"
    (cd tools/crd-schemas && npm ci --silent --no-audit --no-fund)
    touch "$crd_stamp"
  fi
fi
