#!/usr/bin/env bash
# 在 Debian/Ubuntu 迷你主机上安装 classroom-agent（可重复执行）。
# Install classroom-agent on a Debian/Ubuntu mini-PC. Idempotent: run it again to upgrade or repair.
#
#   sudo ./scripts/install.sh            # from a clone or an unpacked release
#   sudo NPM_REGISTRY=https://registry.npmmirror.com ./scripts/install.sh   # npm mirror (mainland China)
#   DRY_RUN=1 ./scripts/install.sh       # print what would be done, change nothing
#
# What it does: the `classroom-agent` system user; /opt/classroom-agent (program),
# /etc/classroom-agent (config, secrets), /var/lib/classroom-agent (database + video);
# agent.yaml from config/agent.example.yaml when there is none (never overwrites yours);
# ffmpeg from the distribution; npm dependencies (production only); the systemd unit, enabled and
# (re)started. Needs Node.js >= 20 (Debian 12 / Ubuntu 24.04 ship 18: see docs/install.md).
set -euo pipefail

PREFIX="${PREFIX:-/opt/classroom-agent}"
ETC="${ETC:-/etc/classroom-agent}"
STATE="${STATE:-/var/lib/classroom-agent}"
USER_NAME="${USER_NAME:-classroom-agent}"
UNIT_DIR="${UNIT_DIR:-/etc/systemd/system}"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
DRY_RUN="${DRY_RUN:-}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
run() {
  if [ -n "$DRY_RUN" ]; then printf '    [dry-run] %s\n' "$*"; else "$@"; fi
}
die() { printf '错误 / error: %s\n' "$*" >&2; exit 1; }

if [ -z "$DRY_RUN" ] && [ "$(id -u)" -ne 0 ]; then die "请用 sudo 运行 / run with sudo"; fi
[ -f "$SRC/package.json" ] || die "run this script from the classroom-agent source tree ($SRC has no package.json)"

# --- Node.js >= 20 -------------------------------------------------------------------------
NODE_BIN="$(command -v node || true)"
[ -n "$NODE_BIN" ] || die "未找到 Node.js / Node.js not found: install Node.js 20 or later first (docs/install.md)"
NODE_MAJOR="$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js $("$NODE_BIN" -v) is too old: 20 or later is needed (docs/install.md)"
say "Node.js $("$NODE_BIN" -v) at $NODE_BIN"

# --- packages from the distribution --------------------------------------------------------
need_pkgs=()
command -v ffmpeg >/dev/null 2>&1 || need_pkgs+=(ffmpeg)
command -v systemd-notify >/dev/null 2>&1 || need_pkgs+=(systemd)
# better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded
command -v make >/dev/null 2>&1 || need_pkgs+=(build-essential)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
command -v npm >/dev/null 2>&1 || need_pkgs+=(npm)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
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
run install -d -m 0755 "$PREFIX"
run install -d -o root -g "$USER_NAME" -m 0750 "$ETC" "$ETC/secrets"
run install -d -o "$USER_NAME" -g "$USER_NAME" -m 0750 "$STATE" "$STATE/video"

# --- program --------------------------------------------------------------------------------
say "installing the program in $PREFIX"
if [ "$SRC" != "$PREFIX" ]; then
  # copy the source tree without build output, dependencies or git metadata
  if [ -n "$DRY_RUN" ]; then
    run tar -C "$SRC" --exclude=./node_modules --exclude=./.git --exclude=./dist -cf - . '|' tar -C "$PREFIX" -xf -
  else
    tar -C "$SRC" --exclude=./node_modules --exclude=./.git --exclude=./dist -cf - . | tar -C "$PREFIX" -xf -
  fi
fi
npm_args=(--no-audit --no-fund)
[ -n "${NPM_REGISTRY:-}" ] && npm_args+=(--registry "$NPM_REGISTRY")
# why not `npm ci --omit=dev` alone: the package builds itself (TypeScript, a dev dependency) in
# its prepare step. So: full install + build, then drop the dev dependencies.
run sh -c "cd '$PREFIX' && npm ci ${npm_args[*]} && npm run build && npm prune --omit=dev ${npm_args[*]}"
run chmod 0755 "$PREFIX/dist/agent/cli/main.js"
# the face weights, verified against models/manifest.json, into the program folder now: the
# service sees that folder read-only (ProtectSystem=strict) and cannot copy them at first use
run "$NODE_BIN" "$PREFIX/dist/scripts/install-models.js"

# the CLI for technicians: reads the box's config by default
if [ -n "$DRY_RUN" ]; then
  run write /usr/local/bin/classroom-agent
else
  # why run as the service user: a command run as root would create the database's -wal/-shm
  # files owned by root while the daemon is stopped, and the daemon could then not write them
  cat >/usr/local/bin/classroom-agent <<WRAP
#!/bin/sh
export CLASSROOM_AGENT_CONFIG="\${CLASSROOM_AGENT_CONFIG:-$ETC/agent.yaml}"
if [ "\$(id -u)" = 0 ] && [ -z "\$CLASSROOM_AGENT_AS_ROOT" ]; then
  exec runuser -u $USER_NAME -- env CLASSROOM_AGENT_CONFIG="\$CLASSROOM_AGENT_CONFIG" "$NODE_BIN" "$PREFIX/dist/agent/cli/main.js" "\$@"
fi
exec "$NODE_BIN" "$PREFIX/dist/agent/cli/main.js" "\$@"
WRAP
  chmod 0755 /usr/local/bin/classroom-agent
fi

# --- config ---------------------------------------------------------------------------------
if [ -f "$ETC/agent.yaml" ]; then
  say "keeping your $ETC/agent.yaml"
else
  say "creating $ETC/agent.yaml from config/agent.example.yaml (edit it: cameras, terminals, sync)"
  run install -o root -g "$USER_NAME" -m 0640 "$PREFIX/config/agent.example.yaml" "$ETC/agent.yaml"
fi
if [ -z "$DRY_RUN" ]; then
  "$NODE_BIN" "$PREFIX/dist/agent/cli/main.js" config check --config "$ETC/agent.yaml" || die "$ETC/agent.yaml has errors (listed above); fix them and run this script again"
fi

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
if [ -d /run/systemd/system ]; then
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
