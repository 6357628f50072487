"""
The benchmark's core workload for pyinfra 3: the same eight tasks as
bench/provision/core.yaml and bench/ansible/core.yml, one operation each.
Run through deploy.py (see there), which is what bench/run.ts does.
"""

from io import StringIO

from pyinfra import host
from pyinfra.facts.server import Command
from pyinfra.operations import apt, files, server

APP_CONF = """\
# bench core workload
listen = 127.0.0.1:8080
workers = 4
"""

files.directory(
    name="App directory",
    path="/opt/bench/app",
    user="root",
    group="root",
    mode="0755",
)

files.put(
    name="App config",
    src=StringIO(APP_CONF),
    dest="/opt/bench/app/app.conf",
    user="root",
    group="root",
    mode="0644",
)

# files.line: `line` is the regex (anchored to a whole line), `replace` the wanted line;
# a missing line (or file) is appended (created), like lineinfile with create: true.
files.line(
    name="Connection limit",
    path="/etc/bench.conf",
    line="^max_connections",
    replace="max_connections = 100",
)

files.line(
    name="Log level",
    path="/etc/bench.conf",
    line="^log_level",
    replace="log_level = info",
)

server.user(
    name="Service user",
    user="benchuser",
    shell="/bin/bash",
    home="/home/benchuser",
    create_home=True,
)

# Refresh the package lists only when there are none (fresh containers), as provision's
# package task does and as Ansible's apt module does when it bootstraps python3-apt.
no_lists = not host.get_fact(
    Command, "find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' | head -n 1"
)
apt.packages(
    name="A package",
    packages=["tree"],
    no_recommends=True,
    update=no_lists,
)

files.link(
    name="Current release",
    path="/opt/bench/current",
    target="/opt/bench/app",
)

files.file(
    name="Obsolete config removed",
    path="/etc/bench-obsolete.conf",
    present=False,
)
