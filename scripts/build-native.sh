#!/usr/bin/env bash
# Builds the optional batched UDP I/O addon (native/udp_batch.c -> build/Release/udp_batch.node)
# with node-gyp, which npm provides to install scripts. Linux only. It never fails the install:
# without the addon aaaproxy uses node:dgram, and its start log line says which (udp_io).
# Needs a C compiler, make, python3 and Node's headers (/usr/include/node on Debian's nodejs).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "$(uname -s)" != Linux ]; then
  echo "aaaproxy: batched UDP I/O is Linux-only; node:dgram will be used"
  exit 0
fi
args=()
# Build against the headers of the running Node when npm has not been told where they are
# (otherwise node-gyp downloads them).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then args+=(--nodedir=/usr); fi
gyp=(node-gyp)
command -v node-gyp >/dev/null 2>&1 || gyp=(npm exec --yes -- node-gyp)
if "${gyp[@]}" rebuild "${args[@]}" >build-native.log 2>&1; then
  echo "aaaproxy: batched UDP I/O addon built (build/Release/udp_batch.node)"
else
  echo "aaaproxy: batched UDP I/O addon NOT built (see build-native.log); node:dgram will be used"
fi
exit 0
