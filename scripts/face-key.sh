#!/usr/bin/env bash
# The face key (AES-256-GCM for face descriptors, photos and crops) apart from the database:
# root-owned, 0600, in the config folder; the service gets it as the systemd credential
# `vision.key` (LoadCredential= in the unit), never by reading /etc itself.
#   scripts/face-key.sh ETC_DIR STATE_DIR      (install.sh runs it as root)
# - ETC_DIR/vision.key exists: kept. A STATE_DIR/vision.key beside it with the same bytes is
#   removed; a different one stops with an error (two keys: which one sealed the data?).
# - else STATE_DIR/vision.key exists (a box installed before the key moved): moved once: copied
#   to ETC_DIR/vision.key (root, 0600), compared byte for byte, then removed from the state.
# - else: a new key of 32 random bytes.
# Exit 1 with a bilingual message on a conflict or a key of the wrong size.
set -euo pipefail
ETC="${1:?usage: face-key.sh ETC_DIR STATE_DIR}"
STATE="${2:?usage: face-key.sh ETC_DIR STATE_DIR}"
key="$ETC/vision.key"
old="$STATE/vision.key"
say() { printf '==> %s\n' "$*"; }
die() { printf '错误 / error: %s\n' "$*" >&2; exit 1; }
size() { stat -c %s "$1"; }
# root's when run as root (install.sh); a test run as another user keeps its own files
owner=()
[ "$(id -u)" = 0 ] && owner=(-o root -g root)

if [ -f "$key" ]; then
  [ "$(size "$key")" = 32 ] || die "$key 应为 32 字节 / must hold exactly 32 bytes (has $(size "$key")): restore it from the key backup (docs/checkin-security.md §5)"
  if [ -f "$old" ]; then
    if cmp -s "$key" "$old"; then
      say "face key: $key in place; removing the copy left in the state folder ($old)"
      rm -f "$old"
    else
      die "两个不同的人脸密钥 / two different face keys: $key and $old. 保留加密现有数据的那个 / keep the one that sealed the existing face data (docs/checkin-security.md §5), remove the other, run again"
    fi
  else
    say "face key: $key in place"
  fi
elif [ -f "$old" ]; then
  [ "$(size "$old")" = 32 ] || die "$old 应为 32 字节 / must hold exactly 32 bytes (has $(size "$old"))"
  say "face key: moving $old out of the state folder to $key (root-owned, 0600; the service reads it as a systemd credential)"
  install -m 0600 "${owner[@]}" "$old" "$key.tmp"
  cmp -s "$old" "$key.tmp" || die "copy of $old to $key.tmp differs: disk error? nothing removed"
  mv "$key.tmp" "$key"
  rm -f "$old"
else
  say "face key: creating $key (32 random bytes, root-owned, 0600). 备份它 / back it up apart from the database (docs/checkin-security.md §5)"
  (umask 077 && head -c 32 /dev/urandom >"$key.tmp")
  [ ${#owner[@]} -eq 0 ] || chown root:root "$key.tmp"
  mv "$key.tmp" "$key"
fi
chmod 0600 "$key"
