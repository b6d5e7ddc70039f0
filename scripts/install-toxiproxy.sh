#!/usr/bin/env bash
# Installs the Toxiproxy server v2.12.0 into <repo>/.bin/toxiproxy-server with `go install` (no Docker needed).
# Idempotent: skipped when the binary is present and reports the wanted version.
# Environment: GO (go binary, default: `go` on PATH, else /usr/local/go/bin/go), TOXIPROXY_VERSION (default v2.12.0).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${TOXIPROXY_VERSION:-v2.12.0}"
bin_dir="$PWD/.bin"
target="$bin_dir/toxiproxy-server"

if [ -x "$target" ] && "$target" -version 2>&1 | grep -qx "toxiproxy-server version ${version#v}"; then
  echo "toxiproxy-server already installed: $("$target" -version 2>&1 | head -n1) ($target)"
  exit 0
fi

go_bin="${GO:-}"
if [ -z "$go_bin" ]; then
  if command -v go >/dev/null 2>&1; then go_bin="$(command -v go)"
  elif [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go
  else echo "install-toxiproxy: no Go toolchain found (set GO=/path/to/go)" >&2; exit 1
  fi
fi

mkdir -p "$bin_dir"
tmp_gobin="$(mktemp -d)"
trap 'rm -rf "$tmp_gobin"' EXIT
echo "installing github.com/Shopify/toxiproxy/v2/cmd/server@$version with $("$go_bin" version)"
GOBIN="$tmp_gobin" "$go_bin" install \
  -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=${version#v}" \
  "github.com/Shopify/toxiproxy/v2/cmd/server@$version"
mv "$tmp_gobin/server" "$target"
"$target" -version
echo "installed $target"
