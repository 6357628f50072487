#!/bin/sh
# Entrypoint of the systemd test hosts: install the test key, then boot systemd as
# PID 1; ssh.service is enabled and starts sshd.
set -eu

install_keys() {
  user="$1"; home="$2"
  [ -d "$home" ] || return 0
  group="$(id -gn "$user")"
  mkdir -p "$home/.ssh"
  printf '%s\n' "$AUTHORIZED_KEYS" > "$home/.ssh/authorized_keys"
  chown "$user:$group" "$home/.ssh" "$home/.ssh/authorized_keys"
  chmod 700 "$home/.ssh"
  chmod 600 "$home/.ssh/authorized_keys"
}

if [ -n "${AUTHORIZED_KEYS:-}" ]; then
  install_keys root /root
  install_keys admin /home/admin
  install_keys secure /home/secure
fi

exec /lib/systemd/systemd "$@"
