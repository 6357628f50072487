"""
The benchmark's pyinfra deploy: runs one workload, chosen with `--data workload=NAME`
(core, the default, or harden), on an inventory written by bench/pyinfra/inventory.ts:

    pyinfra -y --parallel N /abs/path/inventory.py bench/pyinfra/deploy.py --data workload=core
    pyinfra --dry ...     # the audit: facts gathered, changes listed, nothing executed

Become: the inventory sets `_sudo` for every host (the fleet's admin user, sudo
without password), as the other tools' playbooks say `become: true`.
"""

from os import path

from pyinfra import host, local

WORKLOADS = {"core": "core.py", "harden": "harden.py"}

workload = host.data.get("workload") or "core"
if workload not in WORKLOADS:
    raise ValueError(f"unknown workload {workload!r}: one of {', '.join(WORKLOADS)}")

local.include(path.join(path.dirname(path.abspath(__file__)), WORKLOADS[workload]))
