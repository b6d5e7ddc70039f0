#!/usr/bin/env bash
# Installs Chromium from Debian's packages for the dashboard's browser test (Playwright's own browser download
# cannot be used here). Idempotent: skipped when a chromium binary is already on PATH.
# Prints the binary's path on its last line. Environment: CHROMIUM (a binary to use instead; then nothing is installed).
set -euo pipefail

find_chromium() {
  if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then echo "$CHROMIUM"; return 0; fi
  for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  done
  return 1
}

if bin="$(find_chromium)"; then
  echo "chromium already installed: $("$bin" --version 2>/dev/null || echo unknown version)"
  echo "$bin"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: no apt-get on this machine; install Chromium yourself and set CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else echo "install-chromium: apt-get needs root (or sudo)" >&2; exit 1; fi
fi

# Other jobs may hold the dpkg lock for a while: wait for it instead of failing.
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium
bin="$(find_chromium)" || { echo "install-chromium: chromium installed but not on PATH" >&2; exit 1; }
echo "installed: $("$bin" --version 2>/dev/null || echo unknown version)"
echo "$bin"
