#!/usr/bin/env bash
# Installs aaaproxy from this checkout. Run as root; safe to run again (upgrade in place).
#
#   sudo scripts/install.sh                 build, install to /opt/aaaproxy, /etc/aaaproxy, systemd unit
#   scripts/install.sh --dry-run            print what would be done, change nothing
#   sudo scripts/install.sh --no-systemd --no-bin-link --prefix /tmp/x/opt \
#        --config-dir /tmp/x/etc --log-dir /tmp/x/log --state-dir /tmp/x/lib
#
# What it does:
#   1. builds dist/ in the checkout (tsc is a devDependency, so the build happens here, not
#      in the target);
#   2. creates the system user/group aaaproxy (no login, no home);
#   3. stages bin/, dist/src/, the batched UDP addon (build/Release/udp_batch.node, when
#      built), dictionaries/, package*.json and reference conf/ into
#      PREFIX.new, runs `npm ci --omit=dev --ignore-scripts` there (the prepare script would
#      run tsc, which is not installed), then swaps it in for PREFIX;
#   4. creates CONFIG_DIR/aaaproxy.yaml (from conf/aaaproxy.yaml with production paths and
#      a random client secret) and an empty CONFIG_DIR/users.yaml, only if they are absent;
#      never installs the demo user. Config files are 0640 root:aaaproxy;
#   5. creates LOG_DIR and STATE_DIR owned by aaaproxy;
#   6. validates the config as the aaaproxy user (what the unit's ExecStartPre does);
#   7. installs the systemd unit and runs daemon-reload. It never enables or starts it.
set -euo pipefail
umask 022

PREFIX=/opt/aaaproxy
CONFIG_DIR=/etc/aaaproxy
LOG_DIR=/var/log/aaaproxy
STATE_DIR=/var/lib/aaaproxy
UNIT_DIR=/etc/systemd/system
BIN_LINK=/usr/local/bin/aaaproxy
SVC_USER=aaaproxy
NODE_BIN=$(command -v node || true)
DRY_RUN=0
SYSTEMD=1
BUILD=1

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  --prefix DIR       code directory                  (default $PREFIX)
  --config-dir DIR   config and users file           (default $CONFIG_DIR)
  --log-dir DIR      accounting log directory        (default $LOG_DIR)
  --state-dir DIR    state directory                 (default $STATE_DIR)
  --unit-dir DIR     where the systemd unit goes     (default $UNIT_DIR)
  --bin-link PATH    symlink to the CLI              (default $BIN_LINK)
  --no-bin-link      do not create the CLI symlink
  --user NAME        service user and group          (default $SVC_USER)
  --node PATH        node binary for the unit        (default: \`command -v node\`)
  --no-systemd       do not install the unit or run daemon-reload
  --skip-build       use the checkout's existing dist/ as is
  --dry-run          print what would be done and change nothing
  -h, --help         this help
EOF
}

die() { echo "install.sh: $*" >&2; exit 1; }
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) need_arg "$@"; PREFIX=$2; shift 2 ;;
    --config-dir) need_arg "$@"; CONFIG_DIR=$2; shift 2 ;;
    --log-dir) need_arg "$@"; LOG_DIR=$2; shift 2 ;;
    --state-dir) need_arg "$@"; STATE_DIR=$2; shift 2 ;;
    --unit-dir) need_arg "$@"; UNIT_DIR=$2; shift 2 ;;
    --bin-link) need_arg "$@"; BIN_LINK=$2; shift 2 ;;
    --no-bin-link) BIN_LINK=; shift ;;
    --user) need_arg "$@"; SVC_USER=$2; shift 2 ;;
    --node) need_arg "$@"; NODE_BIN=$2; shift 2 ;;
    --no-systemd) SYSTEMD=0; shift ;;
    --skip-build) BUILD=0; shift ;;
    --dry-run|-n) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG_FILE=$CONFIG_DIR/aaaproxy.yaml
USERS_FILE=$CONFIG_DIR/users.yaml
ACCT_LOG=$LOG_DIR/accounting.jsonl

# --- checks ---------------------------------------------------------------------------
for d in "$PREFIX" "$CONFIG_DIR" "$LOG_DIR" "$STATE_DIR"; do
  case "$d" in
    /*) ;;
    *) die "paths must be absolute: $d" ;;
  esac
  d_norm=$(realpath -m "$d")
  case "$d_norm" in
    /|/usr|/etc|/var|/opt|/var/log|/var/lib|/tmp|/home|/root|/bin|/sbin|/lib|/boot) die "refusing to use $d as an install directory" ;;
  esac
done
[ -f "$SRC/package.json" ] && [ -d "$SRC/src" ] || die "run this from an aaaproxy checkout ($SRC has no package.json/src)"
[ -n "$NODE_BIN" ] && [ -x "$NODE_BIN" ] || die "node not found; install Node.js >= 20 first (or pass --node PATH)"
node_major=$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js >= 20 required, $NODE_BIN is $("$NODE_BIN" -v)"
command -v npm >/dev/null || die "npm not found"
if [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "must run as root (try --dry-run to see what it would do)"
fi

# --- helpers --------------------------------------------------------------------------
say() { printf '==> %s\n' "$*"; }
# Prints a command, and runs it unless --dry-run.
run() {
  printf '  +'
  printf ' %q' "$@"
  printf '\n'
  [ "$DRY_RUN" -eq 1 ] || "$@"
}
# install_new DEST MODE GROUP [brief] < content: writes DEST atomically (temp file + rename),
# root-owned. A dry run shows the content, or only its first line with "brief".
install_new() {
  local dest=$1 mode=$2 group=$3 brief=${4:-} tmp
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '  + write %s (mode %s, root:%s):\n' "$dest" "$mode" "$group"
    if [ -n "$brief" ]; then grep -E '^Exec' | sed 's/^/      | /'; printf '      | ...\n'
    else sed 's/^/      | /'; fi
    return
  fi
  tmp=$(mktemp "$(dirname "$dest")/.$(basename "$dest").XXXXXX")
  cat >"$tmp"
  chown "root:$group" "$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$dest"
  printf '  + wrote %s (mode %s, root:%s)\n' "$dest" "$mode" "$group"
}
run_as_service_user() {
  if command -v runuser >/dev/null; then runuser -u "$SVC_USER" -- "$@"
  else setpriv --reuid="$SVC_USER" --regid="$SVC_USER" --init-groups -- "$@"; fi
}

# --- 1. build -------------------------------------------------------------------------
say "build in $SRC"
if [ "$BUILD" -eq 1 ]; then
  if [ -x "$SRC/node_modules/.bin/tsc" ]; then
    run npm --prefix "$SRC" run build
  else
    # npm ci installs devDependencies (typescript) and its prepare script runs tsc.
    run npm --prefix "$SRC" ci --no-audit --no-fund
  fi
else
  echo "  (skipped: --skip-build)"
fi
if [ "$DRY_RUN" -eq 0 ] && [ ! -f "$SRC/dist/src/cli/main.js" ]; then
  die "$SRC/dist/src/cli/main.js missing after the build"
fi

# --- 2. service user ------------------------------------------------------------------
say "service user $SVC_USER"
if getent passwd "$SVC_USER" >/dev/null; then
  echo "  (exists: $(getent passwd "$SVC_USER"))"
else
  nologin=$(command -v nologin || echo /usr/sbin/nologin)
  run useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
    --shell "$nologin" --comment "aaaproxy RADIUS proxy" "$SVC_USER"
fi
if [ "$DRY_RUN" -eq 0 ]; then
  getent group "$SVC_USER" >/dev/null || die "group $SVC_USER does not exist (user was created without its group?)"
fi

# --- 3. code --------------------------------------------------------------------------
say "code -> $PREFIX"
STAGE=$PREFIX.new
run mkdir -p "$(dirname "$PREFIX")"
run rm -rf "$STAGE"
run mkdir -p "$STAGE/dist" "$STAGE/conf"
run cp -R "$SRC/bin" "$SRC/dictionaries" "$SRC/systemd" "$SRC/package.json" "$SRC/package-lock.json" "$STAGE/"
run cp -R "$SRC/dist/src" "$STAGE/dist/src"
# The batched UDP addon built in the checkout (npm ci's install script); without it the
# daemon uses node:dgram and says so in its start line.
if [ -f "$SRC/build/Release/udp_batch.node" ]; then
  run mkdir -p "$STAGE/build/Release"
  run cp "$SRC/build/Release/udp_batch.node" "$STAGE/build/Release/"
else
  echo "  (no build/Release/udp_batch.node in $SRC: the daemon will use node:dgram)"
fi
# Reference copies only; the live config is in $CONFIG_DIR. No users.yaml: it holds the demo user.
run cp "$SRC/conf/aaaproxy.yaml" "$SRC/conf/aaaproxy.schema.json" "$STAGE/conf/"
for f in README.md LICENSE; do
  [ ! -f "$SRC/$f" ] || run cp "$SRC/$f" "$STAGE/"
done
# --ignore-scripts: the prepare script runs tsc, a devDependency that is not installed here.
run npm --prefix "$STAGE" ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn
run chown -R root:root "$STAGE"
run chmod -R go-w "$STAGE"
run "$NODE_BIN" "$STAGE/bin/aaaproxy.js" version
if [ -e "$PREFIX" ]; then
  run rm -rf "$PREFIX.old"
  run mv "$PREFIX" "$PREFIX.old"
fi
run mv "$STAGE" "$PREFIX"
run rm -rf "$PREFIX.old"
if [ -n "$BIN_LINK" ]; then
  run mkdir -p "$(dirname "$BIN_LINK")"
  run ln -sfn "$PREFIX/bin/aaaproxy.js" "$BIN_LINK"
fi

# --- 4. config ------------------------------------------------------------------------
say "config in $CONFIG_DIR"
# The daemon reads these through its group; only root writes them.
run install -d -m 0750 -o root -g "$SVC_USER" "$CONFIG_DIR"

# Generates the production config from conf/aaaproxy.yaml: production paths, a random
# client secret, a header that says where it came from. Prints YAML on stdout.
generate_config() {
  local secret=$1
  (cd "$SRC" && "$NODE_BIN" --input-type=module - "$SRC/conf/aaaproxy.yaml" "$USERS_FILE" "$ACCT_LOG" "$secret" "$PREFIX" "$STATE_DIR/sessions" <<'EOF'
import { readFileSync } from 'node:fs';
import { parseDocument, isSeq } from 'yaml';
const [src, usersFile, acctLog, secret, prefix, sessionsDir] = process.argv.slice(2);
const doc = parseDocument(readFileSync(src, 'utf8'));
if (doc.errors.length) throw new Error(`${src}: ${doc.errors[0].message}`);
const must = (path) => { if (!doc.hasIn(path)) throw new Error(`${src} has no ${path.join('.')}; update scripts/install.sh`); };
must(['local_users', 'file']);
must(['accounting', 'log', 'path']);
const clients = doc.get('clients');
if (!isSeq(clients) || clients.items.length === 0) throw new Error(`${src} has no clients list`);
doc.setIn(['local_users', 'file'], usersFile);
doc.setIn(['accounting', 'log', 'path'], acctLog);
// The session table's state goes to the unit's StateDirectory (the only other writable place).
if (doc.hasIn(['sessions', 'state_dir'])) doc.setIn(['sessions', 'state_dir'], sessionsDir);
// One client (the template's loopback one) with a fresh secret; the admin adds the NASes.
clients.items.splice(1);
const client = clients.items[0];
client.set('secret', secret);
const secretPair = client.items.find((p) => p.key?.value === 'secret');
if (secretPair) secretPair.key.commentBefore = ' Random secret generated at install; give each NAS its own long random one.';
doc.commentBefore = [
  ` yaml-language-server: $schema=${prefix}/conf/aaaproxy.schema.json`,
  '',
  ` aaaproxy config, generated by scripts/install.sh on ${new Date().toISOString().slice(0, 10)} from conf/aaaproxy.yaml.`,
  ' It is never overwritten by a later install. Relative paths are relative to this file.',
  ' Listeners are loopback-only until you change their addresses; then add your NASes under clients.',
  ' Check: aaaproxy check-config    Apply: systemctl reload aaaproxy',
].join('\n');
process.stdout.write(doc.toString());
EOF
  )
}

if [ -e "$CONFIG_FILE" ]; then
  echo "  (keeping existing $CONFIG_FILE)"
elif [ "$DRY_RUN" -eq 1 ] && [ ! -d "$SRC/node_modules/yaml" ]; then
  echo "  + write $CONFIG_FILE from conf/aaaproxy.yaml (preview needs node_modules in the checkout)"
else
  if [ "$DRY_RUN" -eq 1 ]; then secret='<random 32 characters>'
  else secret=$("$NODE_BIN" -p 'require("node:crypto").randomBytes(24).toString("base64url")'); fi
  generate_config "$secret" | install_new "$CONFIG_FILE" 0640 "$SVC_USER"
fi

if [ -e "$USERS_FILE" ]; then
  echo "  (keeping existing $USERS_FILE)"
else
  install_new "$USERS_FILE" 0640 "$SVC_USER" <<'EOF'
# aaaproxy local users. Manage with `aaaproxy users add|passwd|del|list|unlock`,
# which edits this file atomically and asks the running daemon to reload.
users: {}
EOF
fi
# Whatever edited them since, the daemon must be able to read them and nobody else.
for f in "$CONFIG_FILE" "$USERS_FILE"; do
  if [ "$DRY_RUN" -eq 1 ] || [ -e "$f" ]; then
    run chown "root:$SVC_USER" "$f"
    run chmod 0640 "$f"
  fi
done

# --- 5. writable directories ----------------------------------------------------------
say "log and state directories"
run install -d -m 0750 -o "$SVC_USER" -g "$SVC_USER" "$LOG_DIR" "$STATE_DIR"

# --- 6. validate as the service user --------------------------------------------------
say "check-config as $SVC_USER"
run run_as_service_user "$NODE_BIN" "$PREFIX/bin/aaaproxy.js" check-config -c "$CONFIG_FILE"

# --- 7. systemd -----------------------------------------------------------------------
if [ "$SYSTEMD" -eq 1 ]; then
  say "systemd unit -> $UNIT_DIR/aaaproxy.service"
  [ "$LOG_DIR" = /var/log/aaaproxy ] || echo "  warning: the unit's LogsDirectory= is /var/log/aaaproxy; add ReadWritePaths=$LOG_DIR in a drop-in" >&2
  [ "$CONFIG_DIR" = /etc/aaaproxy ] || echo "  warning: the unit's ConfigurationDirectory= is /etc/aaaproxy, not $CONFIG_DIR" >&2
  [ "$SVC_USER" = aaaproxy ] || echo "  warning: set User=/Group=$SVC_USER in a drop-in" >&2
  run mkdir -p "$UNIT_DIR"
  sed -e "s#/usr/bin/node #$NODE_BIN #g" \
      -e "s#/opt/aaaproxy#$PREFIX#g" \
      -e "s#/etc/aaaproxy/aaaproxy.yaml#$CONFIG_FILE#g" \
      "$SRC/systemd/aaaproxy.service" | install_new "$UNIT_DIR/aaaproxy.service" 0644 root brief
  if [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
  else
    echo "  (systemd is not running here: skipped daemon-reload)"
  fi
else
  say "systemd unit: skipped (--no-systemd)"
fi

# --- next steps -----------------------------------------------------------------------
[ "$DRY_RUN" -eq 0 ] || { say "dry run: nothing was changed"; exit 0; }
cli=${BIN_LINK:-$PREFIX/bin/aaaproxy.js}
cfg_opt=
[ "$CONFIG_FILE" = /etc/aaaproxy/aaaproxy.yaml ] || cfg_opt=" -c $CONFIG_FILE"
cat <<EOF

aaaproxy is installed in $PREFIX (not enabled, not started).

Next steps:
  1. Edit $CONFIG_FILE: set the listeners' addresses (they are loopback-only now)
     and add your NASes under clients, each with its own long random secret
     (openssl rand -base64 24).
  2. Add users (the password is prompted, or read from stdin):
       $cli users add alice$cfg_opt
  3. Validate:  $cli check-config$cfg_opt
EOF
if [ "$SYSTEMD" -eq 1 ]; then
  cat <<EOF
  4. Start it now and at boot:   systemctl enable --now aaaproxy
     Logs:                       journalctl -u aaaproxy -f
     After editing the config:   systemctl reload aaaproxy
EOF
else
  cat <<EOF
  4. Run it in the foreground:   runuser -u $SVC_USER -- $NODE_BIN $PREFIX/bin/aaaproxy.js run$cfg_opt
EOF
fi
