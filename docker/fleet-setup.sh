#!/bin/sh
# Shared by every test host image (Debian, Ubuntu, Rocky/CentOS, systemd variants):
# the test users, fresh host keys, and PAM that works in a container.
#   admin:  key login, sudo without password
#   secure: key or password login, sudo needs its password "secure-pass"
#
#   sh fleet-setup.sh           plain host (sshd runs as PID 1)
#   sh fleet-setup.sh systemd   also prepare systemd to boot as PID 1 in a container
#                               (default target, units that cannot work there masked,
#                               journal on the console); each Dockerfile then enables
#                               its own ssh units (ssh.service, ssh.socket, sshd.service)
set -eux
useradd --create-home --shell /bin/bash admin
usermod -p '*' admin
useradd --create-home --shell /bin/bash secure
echo 'secure:secure-pass' | chpasswd
echo 'admin ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/admin
echo 'secure ALL=(ALL:ALL) ALL' > /etc/sudoers.d/secure
chmod 0440 /etc/sudoers.d/admin /etc/sudoers.d/secure
visudo -c
mkdir -p /root/.ssh /run/sshd
chmod 700 /root/.ssh
rm -f /etc/ssh/ssh_host_*
ssh-keygen -A
# pam_loginuid cannot write /proc/self/loginuid in a container: keep it from failing logins
sed -i 's/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/' /etc/pam.d/sshd
/usr/sbin/sshd -t

if [ "${1:-}" = systemd ]; then
  systemctl set-default multi-user.target
  # Units that make no sense (or hang) in a container. Masking a unit a
  # distribution does not have is harmless (a link to /dev/null).
  systemctl mask getty.target console-getty.service systemd-logind.service \
    systemd-udevd.service systemd-udev-trigger.service systemd-firstboot.service \
    systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount \
    sys-kernel-tracing.mount dev-hugepages.mount
  # journald: also forward to the console so `docker logs` shows the boot.
  mkdir -p /etc/systemd/journald.conf.d
  printf '[Journal]\nForwardToConsole=yes\nMaxLevelConsole=info\n' > /etc/systemd/journald.conf.d/console.conf
fi
