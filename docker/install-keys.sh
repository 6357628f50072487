#!/bin/sh
# Sourced by the entrypoints: put $AUTHORIZED_KEYS (the fleet's test key) into the
# authorized_keys of root, admin and secure.
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
