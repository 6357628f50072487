#!/bin/sh
# Drift for the benchmark's "audit of drifted hosts": undoes, as root and behind the
# tools' backs, part of what a workload converged, the same way on every host of every
# fleet (bench/run.ts runs it with `docker exec`). An audit must then report exactly
# these tasks, and change nothing (bench/state-hash.sh shows that it did not).
#
#   sh drift.sh core|harden
set -eu
case "${1:-core}" in
  core) # all eight tasks drift
    chmod 0700 /opt/bench/app
    printf 'listen = 0.0.0.0:8080\n' > /opt/bench/app/app.conf
    sed -i '/^max_connections/d' /etc/bench.conf
    sed -i 's/^log_level = .*/log_level = debug/' /etc/bench.conf
    usermod -s /bin/sh benchuser
    dpkg -r tree > /dev/null
    rm -f /opt/bench/current
    echo stale > /etc/bench-obsolete.conf
    ;;
  harden) # banner, sshd, the live IPv4 firewall, fail2ban
    echo 'Welcome!' > /etc/issue.net
    sed -i 's/^MaxAuthTries 3$/MaxAuthTries 6/' /etc/ssh/sshd_config
    iptables -I INPUT 1 -p tcp -m tcp --dport 8080 -j ACCEPT  # live only: the rules files stay as they were
    sed -i 's/^maxretry = 5$/maxretry = 50/' /etc/fail2ban/jail.local
    ;;
  *)
    echo "unknown workload $1 (core or harden)" >&2
    exit 2
    ;;
esac
