import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan, TaskContext } from '../../../src/contract/task.js';
import { parseHostFacts } from '../../../src/facts/host.js';
import type { ServiceInfo } from '../../../src/facts/services.js';
import { writeFileSteps } from '../../../src/tasks/lib/files.js';
import {
  AUTO_UPGRADES,
  AUTO_UPGRADES_CONTENT,
  DNF_AUTOMATIC,
  PROVISION_UU,
  awkEditStep,
  dnfSettings,
  editIni,
  renderDebianConfig,
  unattended_upgrades,
} from '../../../src/tasks/unattended_upgrades.js';
import { absent, ctx, fileWith } from './_helpers.js';

/** /etc/dnf/automatic.conf as dnf-automatic 4.14 (Rocky 9) ships it, abridged. */
const AUTOMATIC_CONF = `[commands]
#  What kind of upgrade to perform:
# default                            = all available upgrades
# security                           = only the security upgrades
upgrade_type = default
random_sleep = 0

# Maximum time in seconds to wait until the system is on-line and able to
# connect to remote repositories.
network_online_timeout = 60

# To just receive updates use dnf-automatic-notifyonly.timer

# Whether updates should be downloaded when they are available, by
# dnf-automatic.timer. notifyonly.timer, download.timer and
# install.timer override this setting.
download_updates = yes

# Whether updates should be applied when they are available, by
# dnf-automatic.timer. notifyonly.timer, download.timer and
# install.timer override this setting.
apply_updates = no


[emitters]
# Name to use for this system in messages that are emitted.  Default is the
# hostname.
# system_name = my-host

# How to send messages.  Valid options are stdio, email and motd.  If
# emit_via includes stdio, messages will be sent to stdout; this is useful
# to have cron send the messages.  If emit_via includes email, this
# program will send email itself according to the configured options.
# If emit_via includes motd, /etc/motd file will have the messages. if
# emit_via includes command_email, then messages will be send via a shell
# command compatible with sendmail.
# Default is email,stdio.
# If emit_via is None or left blank, no messages will be sent.
emit_via = stdio


[base]
# This section overrides dnf.conf

# Use this to filter DNF core messages
debuglevel = 1
`;

const parse = (v: unknown) => unattended_upgrades.schema.parse(v);
const hostCtx = (os: string[], kv: string[]): TaskContext => ({
  ...ctx,
  host: parseHostFacts(['__osrelease_begin', ...os, '__osrelease_end', 'uid=0', 'user=root', ...kv].join('\n')),
});
const rocky = hostCtx(['ID="rocky"', 'ID_LIKE="rhel centos fedora"', 'VERSION_ID="9.4"'], ['init=systemd', 'pm=dnf']);
const ubuntu = hostCtx(['ID=ubuntu', 'ID_LIKE=debian', 'VERSION_ID="22.04"'], ['init=systemd', 'pm=apt-get']);
const container = hostCtx(['ID=debian', 'VERSION_ID="12"'], ['init=none', 'pm=apt-get', 'container=1']);
const centos7 = hostCtx(['ID="centos"', 'ID_LIKE="rhel fedora"', 'VERSION_ID="7"'], ['init=systemd', 'pm=yum']);
const timerOn: ServiceInfo = { manager: 'systemd', exists: true, active: true, enabled: true };
const changed = (p: Plan) => {
  if (p.kind !== 'change') throw new Error(`expected change, got ${p.kind}: ${'reason' in p ? p.reason : ''}`);
  return p;
};

const DEBIAN_52 = [
  '// Managed by provision (unattended_upgrades task): local changes are overwritten.',
  '// Read after 50unattended-upgrades: #clear drops the origins listed there.',
  '#clear Unattended-Upgrade::Allowed-Origins;',
  '#clear Unattended-Upgrade::Origins-Pattern;',
  'Unattended-Upgrade::Origins-Pattern {',
  '        "origin=Debian,codename=${distro_codename},label=Debian-Security";',
  '        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";',
  '};',
  'Unattended-Upgrade::Automatic-Reboot "false";',
  'Unattended-Upgrade::Automatic-Reboot-Time "02:00";',
  '',
].join('\n');

describe('unattended_upgrades: Debian family', () => {
  it('fresh host: install, 20auto-upgrades, security-only 52 file', () => {
    const p = changed(unattended_upgrades.plan(parse({}), { packages: { 'unattended-upgrades': null }, auto: absent, conf: absent } as never, ctx));
    expect(p.summary).toBe(`install unattended-upgrades; write ${AUTO_UPGRADES}; write ${PROVISION_UU} (daily, security updates, no automatic reboot)`);
    expect(p.steps[0]?.command).toContain('install --no-install-recommends unattended-upgrades');
    expect(p.steps[1]).toEqual(writeFileSteps({ path: AUTO_UPGRADES, content: AUTO_UPGRADES_CONTENT, mode: '0644', owner: 'root', group: 'root', backup: false })[0]);
    expect(p.steps[2]?.stdin).toBe(DEBIAN_52);
    expect(p.diffs?.map((d) => d.label)).toEqual([AUTO_UPGRADES, PROVISION_UU]);
  });

  it('idempotent: ok with the reason (files as the package leaves 20auto-upgrades)', () => {
    const p = unattended_upgrades.plan(parse({}), { packages: { 'unattended-upgrades': { version: '2.9.1' } }, auto: fileWith(AUTO_UPGRADES_CONTENT), conf: fileWith(DEBIAN_52) } as never, ctx);
    expect(p).toEqual({ kind: 'ok', reason: 'unattended-upgrades installed and configured (daily, security updates, no automatic reboot)' });
  });

  it('reboot and all updates; Ubuntu origins', () => {
    const text = renderDebianConfig(ctx.host, parse({ security_only: false, reboot: true, reboot_time: '03:30' }));
    expect(text).toContain('"origin=Debian,codename=${distro_codename},label=Debian";');
    expect(text).toContain('Unattended-Upgrade::Automatic-Reboot "true";\nUnattended-Upgrade::Automatic-Reboot-Time "03:30";\n');
    const u = renderDebianConfig(ubuntu.host, parse({}));
    expect(u).toContain('"origin=Ubuntu,archive=${distro_codename}-security";');
    expect(u).not.toContain('archive=${distro_codename}-updates');
  });

  it('no init system: skipped with the reason', () => {
    expect(unattended_upgrades.plan(parse({}), { packages: {}, auto: absent, conf: absent } as never, container)).toEqual({
      kind: 'skip',
      reason: 'host has no init system: no timer or cron would ever run automatic upgrades here',
    });
  });

  it('arguments: reboot_time must be HH:MM (no injection into the apt file)', () => {
    expect(() => parse({ reboot_time: '02:00";\nAPT::X "1' })).toThrow(/a time like/);
    expect(() => parse({ reboot_time: '25:00' })).toThrow();
    expect(() => parse({ extra: true })).toThrow();
  });
});

describe('unattended_upgrades: RHEL family (dnf-automatic)', () => {
  it('installed, file known: edit by lines in [commands], enable and start the timer', () => {
    const p = changed(unattended_upgrades.plan(parse({}), { packages: { 'dnf-automatic': { version: '4.14.0-9.el9' } }, conf: fileWith(AUTOMATIC_CONF), timer: { ...timerOn, active: false, enabled: false } } as never, rocky));
    const edited = p.steps[0]?.stdin ?? '';
    expect(edited).toContain('\nupgrade_type = security\nrandom_sleep = 0\n');
    expect(edited).toContain('\napply_updates = yes\n');
    expect(edited).toContain('\n[emitters]\n');
    expect(edited).not.toContain('reboot =');
    expect(p.steps.slice(1).map((s) => s.command)).toEqual(['systemctl enable -- dnf-automatic.timer', 'systemctl start -- dnf-automatic.timer']);
    expect(p.diffs).toEqual([{ label: DNF_AUTOMATIC, before: AUTOMATIC_CONF, after: edited }]);
    const again = unattended_upgrades.plan(parse({}), { packages: { 'dnf-automatic': { version: '4.14.0-9.el9' } }, conf: fileWith(edited), timer: timerOn } as never, rocky);
    expect(again).toEqual({ kind: 'ok', reason: 'dnf-automatic installed, /etc/dnf/automatic.conf set (security updates, applied), dnf-automatic.timer enabled and running' });
  });

  it('not installed yet: install, then the awk edit of the file the package brings', () => {
    const p = changed(unattended_upgrades.plan(parse({ reboot: true }), { packages: { 'dnf-automatic': null }, conf: absent } as never, rocky));
    expect(p.steps[0]?.command).toBe('dnf -y -q install dnf-automatic');
    expect(p.steps[1]).toEqual(awkEditStep(DNF_AUTOMATIC, 'commands', dnfSettings(parse({ reboot: true }), undefined)));
    expect(p.summary).toContain('reboot = when-needed');
    expect(p.summary).toContain('reboot_time is not supported by dnf-automatic');
  });

  it('yum hosts and non-systemd rhel are refused clearly', () => {
    expect(() => unattended_upgrades.plan(parse({}), { packages: {}, conf: absent } as never, centos7)).toThrow(/not yum-cron/);
  });

  it('editIni: replace in place, drop duplicates, append missing keys to the section, add the section', () => {
    expect(editIni('[a]\nx = 1\n[commands]\nupgrade_type = default\nupgrade_type = x\n[b]\ny = 2\n', 'commands', [['upgrade_type', 'security'], ['apply_updates', 'yes']])).toBe(
      '[a]\nx = 1\n[commands]\nupgrade_type = security\napply_updates = yes\n[b]\ny = 2\n',
    );
    expect(editIni('[base]\ndebuglevel = 1\n', 'commands', [['apply_updates', 'yes']])).toBe('[base]\ndebuglevel = 1\n[commands]\napply_updates = yes\n');
    expect(editIni('', 'commands', [['apply_updates', 'yes']])).toBe('[commands]\napply_updates = yes\n');
  });

  it('the awk program (run here by /bin/sh and awk) edits exactly like editIni', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uu-'));
    try {
      const cases = [AUTOMATIC_CONF, '[base]\ndebuglevel = 1\n', '[commands]\n  apply_updates=no\napply_updates = no\n# c\n[x]\n', '[commands]\nreboot = never\n'];
      const settings = dnfSettings(parse({ security_only: false, reboot: true }), undefined);
      for (const text of cases) {
        const path = join(dir, 'automatic.conf');
        writeFileSync(path, text);
        execFileSync('/bin/sh', ['-c', awkEditStep(path, 'commands', settings).command]);
        expect(readFileSync(path, 'utf8')).toBe(editIni(text, 'commands', settings));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
