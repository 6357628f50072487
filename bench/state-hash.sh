#!/bin/sh
# End state of one host after a benchmark workload, as hashes, so the bench can show
# that provision, ansible-playbook and pyinfra left their hosts in the same state.
# Run as root on the host (bench/run.ts runs it with `docker exec`; by hand:
# `ssh admin@HOST 'sudo sh -s core' < bench/state-hash.sh`).
#
#   sh state-hash.sh core|harden [PUBLIC-KEY]
#
# Prints one line per component, `NAME SHA256-PREFIX`, then `total SHA256-PREFIX`
# (over the component lines). A component covers what the workload touches: file
# type, mode, owner and content; link targets; users (passwd entry, groups, password
# state, home); packages (name, version, status). `harden` also hashes the EFFECTIVE
# sshd settings (sshd -T) and the LIVE firewall (iptables-save, counters dropped),
# because the tools write those files in different formats on purpose.
# Each fleet has its own SSH key: PUBLIC-KEY (the fleet's `ssh-ed25519 AAAA...` line)
# is hashed as the word FLEET_KEY wherever authorized_keys holds it.
# `dpkg-count` (number of installed packages) is printed for information and is not
# part of the total: ansible installs python3-apt for its apt module, and apt
# recommends differ between the tools' defaults.
set -u
workload="${1:-core}"
fleet_key="${2:-}"

h() { sha256sum | cut -c1-16; }
add() { echo "$1 $(h)"; } # name, then the component's text on stdin
paths() { # type, mode, owner:group and content hash of each path (or absent / link target)
  for p in "$@"; do
    if [ -L "$p" ]; then echo "$p link -> $(readlink "$p") $(stat -c '%U:%G' "$p")"
    elif [ -d "$p" ]; then echo "$p directory $(stat -c '%a %U:%G' "$p")"
    elif [ -e "$p" ]; then echo "$p $(stat -c '%F %a %U:%G' "$p") $(sha256sum < "$p" | cut -c1-64)"
    else echo "$p absent"
    fi
  done
}
user() { # passwd entry, groups, password state (not the change date), home
  getent passwd "$1" || echo "$1 no such user"
  id -nG "$1" 2>/dev/null | tr ' ' '\n' | sort | tr '\n' ' '; echo
  getent shadow "$1" | cut -d: -f1,2
  home="$(getent passwd "$1" | cut -d: -f6)"
  [ -n "$home" ] && paths "$home"
}
pkgs() {
  for p in "$@"; do
    dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' "$p" 2>/dev/null || echo "$p not installed"
  done
}
keys() { # an authorized_keys file, with the fleet's key as FLEET_KEY
  paths "$1" | cut -d' ' -f1-5
  [ -f "$1" ] && awk -v k="$fleet_key" 'k != "" && index($0, k) { $0 = substr($0, 1, index($0, k) - 1) "FLEET_KEY" substr($0, index($0, k) + length(k)) } { print }' "$1"
}
firewall() { # live rules, without counters and comments
  "$1" 2>/dev/null | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'
}
rules_file() { # a rules file as iptables-save would print it: no comments, counters or blank lines
  if [ -f "$1" ]; then grep -v -e '^#' -e '^[[:space:]]*$' "$1" | sed 's/ \[[0-9]*:[0-9]*\]$//'; else echo "$1 absent"; fi
}

components() {
case "$workload" in
  core)
    paths /opt/bench/app | add directory
    paths /opt/bench/app/app.conf | add copy
    paths /etc/bench.conf | add lineinfile
    user benchuser | add user
    pkgs tree | add package
    paths /opt/bench/current | add symlink
    paths /etc/bench-obsolete.conf | add absent
    ;;
  harden)
    pkgs unattended-upgrades iptables-persistent fail2ban | add packages
    paths /etc/apt/apt.conf.d/20auto-upgrades | add auto-upgrades
    paths /etc/apt/apt.conf.d/52provision-unattended-upgrades | add unattended-origins
    user admin | add admin-user
    { paths /home/admin/.ssh; keys /home/admin/.ssh/authorized_keys; } | add admin-keys
    paths /etc/sudoers.d/90-provision-admin | add sudoers
    paths /etc/issue.net | add banner
    /usr/sbin/sshd -T 2>&1 | sort | add sshd-effective
    firewall iptables-save | add iptables-live
    firewall ip6tables-save | add ip6tables-live
    { paths /etc/iptables/rules.v4 /etc/iptables/rules.v6 | cut -d' ' -f1-5; rules_file /etc/iptables/rules.v4; rules_file /etc/iptables/rules.v6; } | add rules-files
    paths /etc/fail2ban/jail.local | add fail2ban
    paths /etc/sysctl.d/90-provision-hardening.conf | add sysctl
    ;;
  *)
    echo "unknown workload $workload (core or harden)" >&2
    return 2
    ;;
esac
}

lines="$(components)" || exit 2
printf '%s\n' "$lines"
echo "dpkg-count $(dpkg-query -W -f '${db:Status-Abbrev}\n' | grep -c '^ii')"
echo "total $(printf '%s\n' "$lines" | h)"
