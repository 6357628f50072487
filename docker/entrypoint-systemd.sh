#!/bin/sh
# Entrypoint of the systemd test hosts: install the test key, then boot systemd as
# PID 1; ssh.service is enabled and starts sshd.
set -eu

. /usr/local/lib/provision-install-keys.sh

exec /lib/systemd/systemd "$@"
