#!/bin/sh
# The box certificate for HTTPS on the check-in port (checkin.tls): a self-signed P-256
# certificate valid 10 years, its key readable by its owner only. Made once at install; terminals
# that check certificates are given box.crt (it is its own CA). Not overwritten when present.
#   usage: box-cert.sh [DIR] [NAME]   (default /etc/classroom-agent/tls, the host name)
# Then in agent.yaml:  checkin: { tls: { cert: DIR/box.crt, key: DIR/box.key } }
set -eu
dir=${1:-/etc/classroom-agent/tls}
name=${2:-$(hostname)}
if [ -s "$dir/box.crt" ] && [ -s "$dir/box.key" ]; then
  echo "box certificate already in $dir (kept)"
  exit 0
fi
mkdir -p "$dir"
umask 077
# the box's addresses go into subjectAltName, so a terminal given https://<ip>:8090 can verify it
ips=$(hostname -I 2>/dev/null || true)
san="DNS:$name,DNS:localhost,IP:127.0.0.1"
for ip in $ips; do san="$san,IP:$ip"; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/CN=$name/O=classroom-agent" -addext "subjectAltName=$san" \
  -keyout "$dir/box.key" -out "$dir/box.crt" 2>/dev/null
chmod 600 "$dir/box.key"
chmod 644 "$dir/box.crt"
echo "box certificate: $dir/box.crt (key $dir/box.key)"
