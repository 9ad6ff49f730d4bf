#!/usr/bin/env bash
# Debian/Ubuntu packages the agent, its demo and its tests use. Idempotent: installs only what is
# missing. Used by the README's first command and by .ci/run (a box itself needs only ffmpeg,
# which scripts/install.sh installs).
#   ffmpeg                      recording (stream copy), probing, frame decoding
#   util-linux                  setpriv: ffmpeg gets a parent-death signal, so no orphan outlives a crashed agent
#   GStreamer RTSP server       the simulated cameras of the demo and the tests (real RTSP over TCP/UDP);
#                               gstreamer1.0-x brings clockoverlay/textoverlay, which the test pattern burns in
#   mosquitto                   the real MQTT broker of the integration tests (--with-test-tools)
#   openssl                     the box certificate for HTTPS on the check-in port (scripts/box-cert.sh); test certificates
#   iproute2, procps            network namespaces, process checks (--with-test-tools)
#   postgresql                  the central receiver's server database, for its tests (--with-test-tools)
#   nginx-light, libnginx-mod-rtmp  a real media server (RTMP in, HLS out) for the remote-inspection tests (--with-test-tools)
#   systemd                     systemd-notify and systemd-analyze for the unit and sd_notify tests (--with-test-tools)
#   chromium, fonts-wqy-zenhei  the console's browser tests drive Debian's headless Chromium (playwright-core); the CJK
#                               font makes the Chinese of its screenshots readable (--with-test-tools)
#   mount                       mount/umount of the full-disk test's tmpfs (--with-test-tools)
set -euo pipefail
pkgs=(ffmpeg util-linux openssl python3 python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0 gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-x gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-libav)
test_tools=0 list=0
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) test_tools=1 ;;
    # prints the list, installs nothing: scripts/install-deps.test.ts checks the code against it
    --list) list=1 ;;
    *) echo "unknown option / 未知选项: $arg (use --with-test-tools, --list)" >&2; exit 2 ;;
  esac
done
[ "$test_tools" = 1 ] && pkgs+=(mosquitto iproute2 procps systemd mount nginx-light libnginx-mod-rtmp postgresql chromium fonts-wqy-zenhei)
if [ "$list" = 1 ]; then printf '%s\n' "${pkgs[@]}"; exit 0; fi

missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing / 安装: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
