#!/bin/sh
# Entrypoint of the provision test hosts: install the test key, then run sshd as PID 1.
set -eu

. /usr/local/lib/provision-install-keys.sh

# Host keys are baked into the image; regenerate only if something removed them.
ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || ssh-keygen -A
mkdir -p /run/sshd
chmod 0755 /run/sshd

exec /usr/sbin/sshd -D -e "$@"
