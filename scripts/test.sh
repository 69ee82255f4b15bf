#!/usr/bin/env bash
# npm test: install the Debian test peers that are missing, build, run unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers the integration tests drive (Debian packages), keyed by the command they bring:
# radclient the NAS, freeradius the upstream server, eapol_test the 802.1X supplicant,
# openssl the test CA for EAP (test/helpers/freeradius.ts, test/helpers/eapol.ts), slapd the LDAP
# directory and ldapsearch (ldap-utils) its client tools (test/helpers/slapd.ts).
declare -A peer_packages=([radclient]=freeradius-utils [freeradius]=freeradius [eapol_test]=eapoltest [openssl]=openssl [slapd]=slapd [ldapsearch]=ldap-utils)
missing=()
for cmd in "${!peer_packages[@]}"; do
  # freeradius and slapd live in /usr/sbin, which a non-root PATH may lack.
  command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || missing+=("${peer_packages[$cmd]}")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "npm test needs these Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "installing test peers: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The tests start their own FreeRADIUS on loopback; the packaged service (all addresses,
  # 1812/1813) is not wanted where systemd started it on install.
  if [[ " ${missing[*]} " == *" freeradius "* && -d /run/systemd/system ]]; then
    systemctl disable --now freeradius >/dev/null 2>&1 || true
  fi
  # Likewise the packaged slapd (the tests run their own, from a slapd.conf of their own).
  if [[ " ${missing[*]} " == *" slapd "* && -d /run/systemd/system ]]; then
    systemctl disable --now slapd >/dev/null 2>&1 || true
  fi
fi

npm run --silent build
# npm ci builds the native addon; a tree set up otherwise may not have it yet, or an older one.
addon=build/Release/udp_batch.node
[[ -f $addon && -z $(find native binding.gyp -newer "$addon") ]] || bash scripts/build-native.sh
# tap builds its plugin set (package.json "tap.plugin" drops the TypeScript loader: tests are
# compiled) into .tap/plugins; a fresh clone has none, so build it before the first run.
npx tap build >/dev/null
# Tests are compiled with the sources; tap runs the JavaScript output.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Arguments (tap options or compiled test paths) replace the default set.
(($# > 0)) || set -- dist/test/unit dist/test/integration
npx tap "$@" 2>&1 | tee "$log" || status=$?
# One plain closing line, from tap's own totals: "tests: N passed, N failed".
node -e '
  const line = /# \{ total: \d+.*\}/.exec(require("fs").readFileSync(process.argv[1], "utf8"));
  const n = (k) => Number(new RegExp(k + ": (\\d+)").exec(line?.[0] ?? "")?.[1] ?? 0);
  if (line) console.log(`tests: ${n("pass")} passed, ${n("fail")} failed` + (n("skip") ? `, ${n("skip")} skipped` : ""));
' "$log"
exit "$status"
