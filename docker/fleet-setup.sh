#!/bin/sh
# Shared by every test host image (Debian, Ubuntu, Rocky/CentOS, systemd variants):
# the test users, fresh host keys, and PAM that works in a container.
#   admin:  key login, sudo without password
#   secure: key or password login, sudo needs its password "secure-pass"
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
