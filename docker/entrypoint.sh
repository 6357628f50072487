#!/bin/sh
# Entrypoint of the provision test hosts: install the test key, then run sshd as PID 1.
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

# Host keys are baked into the image; regenerate only if something removed them.
ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || ssh-keygen -A
mkdir -p /run/sshd
chmod 0755 /run/sshd

exec /usr/sbin/sshd -D -e "$@"
