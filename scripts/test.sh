#!/usr/bin/env bash
# npm test: install the Debian test peers that are missing, build, run unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers the integration tests drive (Debian packages).
declare -A peer_packages=([radclient]=freeradius-utils)
missing=()
for cmd in "${!peer_packages[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${peer_packages[$cmd]}")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "npm test needs these Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "installing test peers: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm run --silent build
# Tests are compiled with the sources; tap runs the JavaScript output.
exec npx tap "$@" dist/test
