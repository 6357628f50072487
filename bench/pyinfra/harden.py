"""
The benchmark's hardening workload for pyinfra 3: what bench/ansible/harden.yml does
(the same files with the same content, the same packages), in pyinfra's built-in
operations. Run through deploy.py with `--data workload=harden` and the admin key as
`--data admin_ssh_keys='["ssh-ed25519 AAAA..."]'`.

Where pyinfra has no equivalent, it does LESS, like Ansible's version and more so:
 - no validation before a file is put in place (Ansible: visudo -cf for sudoers,
   sshd -t for sshd_config; files.put and files.block have no validate);
 - sshd: a managed block inserted before the `Include` line (the top of Debian's
   sshd_config; files.block cannot insert at the beginning of a file), no effective
   `sshd -T` comparison, algorithm lists not filtered to `ssh -Q`;
 - admin user: server.user's `groups` is the exact list of supplementary groups
   (no append); the fleet's admin user has none besides sudo, so the result is the
   same as Ansible's `append: true`;
 - handlers: pyinfra runs a follow-up operation right after the one that changed
   (`_if=op.did_change`), Ansible at the end of the play;
 - listeners: read with a fact (ss -Htln) while the deploy is prepared; unexpected
   ones become an operation that fails (shown as a change by `--dry`), where Ansible
   fails an assert.
"""

from io import StringIO

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.facts.server import Command
from pyinfra.operations import apt, files, server

ADMIN_USER = "admin"
ADMIN_SSH_KEYS = host.data.get("admin_ssh_keys") or []
SSH_PORT = 22
FIREWALL_TCP_PORTS = [80, 443]
BANNER_TEXT = "Authorized use only. All activity may be monitored and reported.\n"
LOG_RULE = '-m limit --limit 5/min -j LOG --log-prefix "iptables denied: "'

SSHD_BLOCK = f"""\
Port {SSH_PORT}
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PubkeyAuthentication yes
UsePAM yes
HostbasedAuthentication no
IgnoreRhosts yes
IgnoreUserKnownHosts yes
GSSAPIAuthentication no
KerberosAuthentication no
LoginGraceTime 30
MaxAuthTries 3
MaxSessions 4
MaxStartups 10:30:60
ClientAliveInterval 300
ClientAliveCountMax 2
TCPKeepAlive no
Compression no
UseDNS no
LogLevel VERBOSE
SyslogFacility AUTH
StrictModes yes
PermitUserEnvironment no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
GatewayPorts no
AllowGroups sudo
Banner /etc/issue.net
PrintMotd no
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group-exchange-sha256
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com
DebianBanner no"""

NEW_TCP = "-m conntrack --ctstate NEW -j ACCEPT"
service_rules = [f"-A INPUT -p tcp -m tcp --dport {p} {NEW_TCP}" for p in FIREWALL_TCP_PORTS]
RULES_V4 = "\n".join(
    [
        "*filter",
        ":INPUT DROP [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        "-A INPUT -i lo -j ACCEPT",
        "-A INPUT -s 127.0.0.0/8 ! -i lo -j DROP",
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        f"-A INPUT -p tcp -m tcp --dport {SSH_PORT} {NEW_TCP}",
        *service_rules,
        "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT",
        f"-A INPUT {LOG_RULE}",
        f"-A FORWARD {LOG_RULE}",
        "COMMIT",
    ]
) + "\n"
RULES_V6 = "\n".join(
    [
        "*filter",
        ":INPUT DROP [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        "-A INPUT -i lo -j ACCEPT",
        "-A INPUT -s ::1/128 ! -i lo -j DROP",
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        *[
            f"-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT"
            for t in (1, 2, 3, 4, 133, 134, 135, 136)
        ],
        f"-A INPUT -p tcp -m tcp --dport {SSH_PORT} {NEW_TCP}",
        *service_rules,
        "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT",
        f"-A INPUT {LOG_RULE}",
        f"-A FORWARD {LOG_RULE}",
        "COMMIT",
    ]
) + "\n"

JAIL_LOCAL = f"""\
[sshd]
enabled = true
port = {SSH_PORT}
maxretry = 5
bantime = 1h
findtime = 10m
backend = auto
"""


def put(name, dest, content, mode):
    return files.put(
        name=name,
        src=StringIO(content),
        dest=dest,
        user="root",
        group="root",
        mode=mode,
    )


# Refresh the package lists only when there are none (fresh containers): Ansible's apt
# module does it when it bootstraps python3-apt, provision's package tasks likewise.
no_lists = not host.get_fact(
    Command, "find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' | head -n 1"
)

apt.packages(
    name="Automatic security updates (package)",
    packages=["unattended-upgrades"],
    update=no_lists,
)
put(
    "Automatic security updates (periodic)",
    "/etc/apt/apt.conf.d/20auto-upgrades",
    'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
    "0644",
)
put(
    "Automatic security updates (origins)",
    "/etc/apt/apt.conf.d/52provision-unattended-upgrades",
    "#clear Unattended-Upgrade::Origins-Pattern;\n"
    'Unattended-Upgrade::Origins-Pattern { "origin=Debian,codename=${distro_codename}-security,'
    'label=Debian-Security"; };\n'
    'Unattended-Upgrade::Automatic-Reboot "false";\n',
    "0644",
)

server.user(
    name="Admin user in the admin group, with its SSH keys",
    user=ADMIN_USER,
    shell="/bin/bash",
    groups=["sudo"],
    public_keys=ADMIN_SSH_KEYS,
)
put(
    "Admin may sudo without a password",
    f"/etc/sudoers.d/90-provision-{ADMIN_USER}",
    f"{ADMIN_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n",
    "0440",
)

put("Legal notice shown before login", "/etc/issue.net", BANNER_TEXT, "0644")
sshd = files.block(
    name="sshd hardened",
    path="/etc/ssh/sshd_config",
    content=SSHD_BLOCK,  # no trailing newline: the block is compared line by line
    line="^Include",
    before=True,
)
server.shell(
    name="reload sshd",
    commands=["pkill -HUP -o -x sshd"],
    _if=sshd.did_change,
)

apt.packages(name="iptables-persistent", packages=["iptables-persistent"])
rules_v4 = put("IPv4 firewall", "/etc/iptables/rules.v4", RULES_V4, "0640")
server.shell(
    name="load ipv4 rules",
    commands=["iptables-restore /etc/iptables/rules.v4"],
    _if=rules_v4.did_change,
)
rules_v6 = put("IPv6 firewall", "/etc/iptables/rules.v6", RULES_V6, "0640")
server.shell(
    name="load ipv6 rules",
    commands=["ip6tables-restore /etc/iptables/rules.v6"],
    _if=rules_v6.did_change,
)

apt.packages(name="fail2ban (package)", packages=["fail2ban"])
put("fail2ban guards sshd", "/etc/fail2ban/jail.local", JAIL_LOCAL, "0644")

# In a container the sysctl values are the container host's.
if not host.get_fact(File, path="/.dockerenv"):
    put(
        "Kernel network hardening",
        "/etc/sysctl.d/90-provision-hardening.conf",
        "net.ipv4.tcp_syncookies = 1\n",
        "0644",
    )

allowed = {str(SSH_PORT), *map(str, FIREWALL_TCP_PORTS)}
listening = host.get_fact(Command, "ss -Htln") or ""
unexpected = sorted(
    {
        line.split()[3].rsplit(":", 1)[-1]
        for line in listening.splitlines()
        if len(line.split()) > 3 and line.split()[3].rsplit(":", 1)[-1] not in allowed
    }
)
if unexpected:
    server.shell(
        name="Nothing listens but sshd and the allowed services",
        commands=[f"echo 'unexpected listeners on ports {' '.join(unexpected)}' >&2; exit 1"],
    )
