/**
 * Lockout protection. Tasks whose plans carry `risk: 'access'` (firewall,
 * sshd, the login user's account or keys) are applied commit-confirmed:
 *
 *   1. snapshot on the host: iptables-save v4/v6, sshd config, host keys and
 *      moduli, passwd/shadow/group, the login user's authorized_keys; what a
 *      snapshot cannot hold (a firewall manager stopped, a file written outside
 *      these) the steps record for undoing (`onRollback`);
 *   2. arm a rollback on the host that does not depend on our SSH session
 *      (a transient systemd unit, or a detached sleeper without systemd);
 *   3. apply the steps;
 *   4. open a NEW connection with the post-change parameters (new port) and,
 *      only when it runs a command, disarm the rollback and drop the snapshot.
 *
 * If the new connection cannot be made, the host restores the snapshot by
 * itself when the rollback timeout expires. The scripts here are pure strings;
 * the runner executes them.
 */
import { randomBytes } from 'node:crypto';
import type { InitSystem } from '../contract/host-facts.js';
import { quote } from '../contract/quote.js';
import { SSH_SOCKETS, socketDropin } from '../facts/sshd.js';

export const ROLLBACK_ROOT = '/var/lib/provision/rollback';
export const ROLLED_BACK_DIR = '/var/lib/provision/rolled-back';

export function newGuardId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH';

/** The script the host runs by itself: wait for the deadline unless disarmed, then restore. */
export function rollbackScript(id: string, label: string): string {
  const d = quote(`${ROLLBACK_ROOT}/${id}`);
  return [
    '#!/bin/sh',
    PATH,
    `D=${d}`,
    'echo $$ > "$D/pid"',
    'while :; do',
    '  [ -d "$D" ] || exit 0',
    '  [ "$(date +%s)" -ge "$(cat "$D/deadline" 2>/dev/null || echo 0)" ] && break',
    '  sleep 1',
    'done',
    // a table that exists now but not in the snapshot (a fresh nft host has none) is restored empty, policies ACCEPT
    'fw() {',
    '  command -v "$1-save" >/dev/null 2>&1 || return 0',
    '  cur=$("$1-save" 2>/dev/null) || return 0',
    '  snap="$D/$2"; [ -f "$snap" ] || snap=/dev/null',
    '  {',
    '    cat "$snap"',
    '    for t in $(printf \'%s\\n\' "$cur" | sed -n \'s/^\\*//p\'); do',
    '      grep -q "^\\*$t\\$" "$snap" && continue',
    '      echo "*$t"',
    '      printf \'%s\\n\' "$cur" | awk -v t="$t" \'/^\\*/ { on = ($0 == "*" t) } on && /^:/ && $2 != "-" { print $1 " ACCEPT [0:0]" }\'',
    '      echo COMMIT',
    '    done',
    '  } | "$1-restore"',
    '}',
    // what the snapshot cannot restore, undone by the steps' own records, last first (a firewall manager is back before its rules)
    '[ -f "$D/undo" ] && sed \'1!G;h;$!d\' "$D/undo" > "$D/undo.rev" && sh "$D/undo.rev" >/dev/null 2>&1',
    'fw iptables v4',
    'fw ip6tables v6',
    '[ -f "$D/files.tar" ] && tar -C / -xpf "$D/files.tar"',
    'if sshd -t >/dev/null 2>&1; then',
    // a socket-activated sshd listens where its socket says (sshd_config task: a drop-in, undone above):
    // back only once systemd re-reads units and the socket restarts, its service stopped first (KillMode=process keeps sessions)
    '  if [ -d /run/systemd/system ]; then',
    `    sock=; for u in ${SSH_SOCKETS.join(' ')}; do systemctl is-active --quiet "$u" 2>/dev/null && sock=$u && break; done`,
    '    if [ -n "$sock" ]; then systemctl daemon-reload; systemctl stop "${sock%.socket}.service"; systemctl restart "$sock"',
    '    else systemctl reload ssh 2>/dev/null || systemctl reload sshd 2>/dev/null; fi',
    '  fi',
    '  [ -d /run/systemd/system ] || pkill -HUP -o -x sshd 2>/dev/null || kill -HUP "$(cat /run/sshd.pid 2>/dev/null)" 2>/dev/null',
    'fi',
    `mkdir -p ${quote(ROLLED_BACK_DIR)} && echo ${quote(label)} > ${quote(`${ROLLED_BACK_DIR}/${id}`)}`,
    'rm -rf "$D"',
    '',
  ].join('\n');
}

/**
 * One round trip: snapshot, write the rollback script, set the deadline, arm.
 * `loginUser` is the SSH user whose authorized_keys are saved too.
 */
export function armScript(o: { id: string; timeoutSec: number; init: InitSystem; loginUser: string; label: string }): string {
  const d = quote(`${ROLLBACK_ROOT}/${o.id}`);
  const unit = quote(`provision-rollback-${o.id}`);
  const detached = `nohup setsid /bin/sh "$D/rollback.sh" >/dev/null 2>&1 </dev/null &`;
  return [
    'set -e',
    PATH,
    'umask 077',
    `D=${d}`,
    'mkdir -p "$D"',
    'if command -v iptables-save >/dev/null 2>&1; then iptables-save > "$D/v4" 2>/dev/null || rm -f "$D/v4"; fi',
    'if command -v ip6tables-save >/dev/null 2>&1; then ip6tables-save > "$D/v6" 2>/dev/null || rm -f "$D/v6"; fi',
    `H=$(getent passwd ${quote(o.loginUser)} | cut -d: -f6)`,
    'files=""',
    `for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d ${SSH_SOCKETS.map((u) => socketDropin(u)).join(' ')} /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub /etc/ssh/moduli /etc/passwd /etc/shadow /etc/group /etc/gshadow "\${H:-/nonexistent}/.ssh/authorized_keys"; do`,
    '  [ -e "$f" ] && files="$files ${f#/}"',
    'done',
    '# shellcheck disable=SC2086',
    'tar -C / -cpf "$D/files.tar" $files',
    `cat > "$D/rollback.sh" <<'PROVISION_ROLLBACK_EOF'`,
    rollbackScript(o.id, o.label) + 'PROVISION_ROLLBACK_EOF',
    `echo $(( $(date +%s) + ${o.timeoutSec} )) > "$D/deadline"`,
    o.init === 'systemd'
      ? `systemd-run --quiet --collect --unit=${unit} --description='provision rollback' /bin/sh "$D/rollback.sh" || ${detached}`
      : detached,
    // the sleeper is running once it has written its pid
    'i=0; while [ ! -s "$D/pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
    '[ -s "$D/pid" ]',
  ].join('\n');
}

/**
 * Push the deadline back after a long apply (best effort, over the old
 * connection). Run before each step of a commit-confirmed change, it also
 * tells the step where the armed rollback lives (see `onRollback`).
 */
export function extendScript(id: string, timeoutSec: number): string {
  const d = quote(`${ROLLBACK_ROOT}/${id}`);
  return `D=${d}; PROVISION_ROLLBACK_DIR=$D; [ -d "$D" ] && echo $(( $(date +%s) + ${timeoutSec} )) > "$D/deadline"`;
}

/**
 * Shell for a step that changes what the snapshot does not hold (a service
 * masked, a systemd drop-in written): records `undo` for the armed rollback to run
 * (in reverse order, before the snapshot is restored) if the change is not
 * confirmed. Outside a commit-confirmed apply it does nothing. Put it right
 * after the command it undoes, joined with `&&`, so only what happened is undone.
 */
export function onRollback(undo: string): string {
  return `{ if [ -n "\${PROVISION_ROLLBACK_DIR:-}" ]; then printf '%s\\n' ${quote(undo)} >> "$PROVISION_ROLLBACK_DIR/undo"; fi; }`;
}

/** Disarm: stop the sleeper, remove the snapshot. Exit 0 only when nothing is left. */
export function disarmScript(id: string): string {
  const d = quote(`${ROLLBACK_ROOT}/${id}`);
  const unit = quote(`provision-rollback-${id}`);
  return [
    PATH,
    `D=${d}`,
    'if [ ! -d "$D" ]; then echo "rollback already ran" >&2; exit 3; fi',
    'p=$(cat "$D/pid" 2>/dev/null)',
    'rm -rf "$D"',
    `if [ -d /run/systemd/system ]; then systemctl stop ${unit} >/dev/null 2>&1 || true; fi`,
    '[ -n "$p" ] && kill "$p" 2>/dev/null',
    '[ ! -e "$D" ]',
  ].join('\n');
}

/** Whether the host rolled back (marker written by the rollback), consuming the marker. */
export function rolledBackScript(id: string): string {
  const m = quote(`${ROLLED_BACK_DIR}/${id}`);
  return `if [ -f ${m} ]; then cat ${m}; rm -f ${m}; else exit 1; fi`;
}

/** Port to dial for a host-side sshd port, through the inventory's port_map (NAT). */
export function dialPort(hostPort: number, portMap: Readonly<Record<number, number>>, fallback: number): number {
  return portMap[hostPort] ?? fallback;
}
