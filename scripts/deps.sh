#!/usr/bin/env bash
# Installs every Debian package that building, testing and running tock needs.
# Idempotent: packages already present are skipped; `apt-get update` runs at most
# once, and only when something is missing. Usage: scripts/deps.sh [build|test|bench|all]
set -euo pipefail

what=${1:-all}

build_pkgs=(build-essential cmake pkg-config tzdata ca-certificates
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev librdkafka-dev
  libcurl4-openssl-dev libical-dev libjwt-dev libsodium-dev libssl-dev)
test_pkgs=(libcmocka-dev python3 python3-pytest python3-requests python3-jsonschema
  sqlite3 curl prometheus postgresql kcat
  python3-aiosmtpd     # notifications: the SMTP server of the e-mail tests
  python3-websockets)  # sync: WebSocket interop tests
bench_pkgs=(wrk nginx-light python3)
# ---- quick-add language: clang for the libFuzzer target (fuzz/fuzz_nl.c, docs/assistant.md) ----
bench_pkgs+=(clang)

pkgs=("${build_pkgs[@]}")
case "$what" in
  build) ;;
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${bench_pkgs[@]}") ;;
  all) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

# ---- mcp: the MCP SDK client tests (tests/mcp) need node + npm; any install will do
# (Debian's nodejs/npm packages only when there is none, so a NodeSource node stays).
if [[ "$what" == test || "$what" == all ]] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
