#!/usr/bin/env bash
# Runs Twofold's browser tests: Debian's Chromium driven by playwright-core, one fresh
# `twofold serve` per test file. Usage: tests/browser/run.sh [spec files...]
# Env: TWOFOLD_BIN (default: <repo>/target/debug/twofold).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

export TWOFOLD_BIN="${TWOFOLD_BIN:-$repo/target/debug/twofold}"
if [[ ! -x "$TWOFOLD_BIN" ]]; then
  echo "run.sh: no Twofold binary at $TWOFOLD_BIN (run cargo build, or set TWOFOLD_BIN)" >&2
  exit 1
fi

# Chromium comes from Debian, never from a Playwright download; so do Apache httpd and
# mod_auth_openidc, the relying party of specs/oidc-apache.test.js, and the proxies.
missing=()
if [[ ! -x /usr/bin/chromium ]]; then missing+=(chromium); fi
if [[ ! -x /usr/sbin/apache2 ]]; then missing+=(apache2); fi
if [[ ! -f /usr/lib/apache2/modules/mod_auth_openidc.so ]]; then missing+=(libapache2-mod-auth-openidc); fi
# nginx and Caddy: the real proxies of specs/forward-auth.test.js.
if [[ ! -x /usr/sbin/nginx ]]; then missing+=(nginx); fi
if [[ ! -x /usr/bin/caddy ]]; then missing+=(caddy); fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "run.sh: installing ${missing[*]} from Debian" >&2
  sudo=""
  if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${missing[@]}"
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [[ ! -d node_modules/playwright-core || ! -d node_modules/axe-core || ! -d node_modules/openid-client ]]; then
  if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund
  else
    npm install --no-audit --no-fund
  fi
fi

if [[ $# -gt 0 ]]; then
  specs=("$@")
else
  specs=(specs/*.test.js)
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

set +e
NO_COLOR=1 node --test --test-reporter=tap --test-concurrency="${TWOFOLD_BROWSER_JOBS:-2}" --test-timeout=300000 "${specs[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

passed="$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$log" | tail -n1)"
failed="$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$log" | tail -n1)"
cancelled="$(sed -n 's/^# cancelled \([0-9][0-9]*\)$/\1/p' "$log" | tail -n1)"
passed="${passed:-0}"
failed=$(( ${failed:-0} + ${cancelled:-0} ))
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi
if [[ $passed -eq 0 && $failed -eq 0 ]]; then
  echo "run.sh: no test ran" >&2
  failed=1
fi

echo "$passed passed, $failed failed"
if [[ $failed -ne 0 || $status -ne 0 ]]; then exit 1; fi
