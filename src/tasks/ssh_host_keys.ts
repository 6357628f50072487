/**
 * `ssh_host_keys`: which host keys sshd presents, and the Diffie-Hellman
 * groups it may offer (dev-sec ssh-baseline sshd-14, sshd-48, sshd-50; CIS
 * 5.1.2, 5.1.3).
 *
 * The standard key files `/etc/ssh/ssh_host_<type>_key` of the types not
 * listed are removed; a listed type that is missing, or an RSA key smaller
 * than `rsa_bits`, is generated with ssh-keygen on the host (into a private
 * temporary directory, then written into place atomically); private keys are
 * made root:root 0600, public keys root:root 0644; sshd reloads. A change of
 * keys is applied commit-confirmed: the runner reads the public keys sshd now
 * presents over the connection it already verified, records them in
 * known_hosts for the host, and confirms over a new connection that must
 * present each of them. Groups smaller than `moduli_min_bits` are removed from
 * /etc/ssh/moduli (sshd reads it for every key exchange: no reload).
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, skip, type Diff, type Step } from '../contract/task.js';
import { quote } from '../contract/quote.js';
import { KEY_TYPES, MODULI, SSH_DIR, hostKeysAt, keyPath, keyTypeName, moduliSmallerThan, type HostKeyFile, type HostKeysFacts, type KeyKind } from '../facts/hostkeys.js';
import type { PresentFile } from '../facts/files.js';
import { DEFAULT_SSHD_CONFIG, sshdAt } from '../facts/sshd.js';
import { attrSteps } from './lib/attrs.js';
import { diffOf, writeFileSteps } from './lib/files.js';
import { reloadStep } from './lib/sshd.js';

const GENERATED = ['ed25519', 'rsa', 'ecdsa'] as const;

const argsSchema = z
  .object({
    types: z
      .array(z.enum(GENERATED))
      .min(1)
      .default(['ed25519', 'rsa'])
      .refine((t) => new Set(t).size === t.length, { message: 'a key type is listed twice' })
      .describe('Key types sshd presents (ed25519, rsa, ecdsa): missing ones are generated, the files of every other type (dsa too) are removed'),
    rsa_bits: z.number().int().min(3072).max(16384).default(4096).describe('An RSA host key smaller than this is generated again, at this size'),
    moduli_min_bits: z
      .number()
      .int()
      .min(2048)
      .max(8192)
      .optional()
      .describe('Remove Diffie-Hellman groups smaller than this from /etc/ssh/moduli (dev-sec: 3072); unset: the file is left as it is'),
  })
  .strict();

export type SshHostKeysArgs = z.output<typeof argsSchema>;

const PRIVATE = { mode: '0600', owner: 'root', group: 'root' } as const;
const PUBLIC = { mode: '0644', owner: 'root', group: 'root' } as const;
/** The keys sshd loads when its configuration names none (OpenSSH >= 7.0). */
const DEFAULT_HOSTKEYS = ['rsa', 'ecdsa', 'ed25519'].map((k) => keyPath(k as KeyKind));

/** Why a listed key has to be generated, or undefined when it is fine. */
function regenerate(key: HostKeyFile, rsaBits: number): string | undefined {
  if (key.private === null) return 'missing';
  if (key.kind === 'rsa' && key.bits !== null && key.bits < rsaBits) return `${key.bits} bits, under ${rsaBits}`;
  return undefined;
}

/** Steps that make a new key with ssh-keygen in a private directory, then write both files into place. */
function generateSteps(kind: KeyKind, rsaBits: number): Step[] {
  const path = keyPath(kind);
  const tmp = `${SSH_DIR}/.provision-keygen-${kind}`;
  const size = kind === 'rsa' ? ` -b ${rsaBits}` : '';
  return [
    { command: `rm -rf -- ${quote(tmp)} && mkdir -m 0700 -- ${quote(tmp)} && ssh-keygen -q -t ${kind}${size} -N '' -f ${quote(`${tmp}/key`)}` },
    ...writeFileSteps({ path, generate: `cat -- ${quote(`${tmp}/key`)}`, ...PRIVATE }),
    ...writeFileSteps({ path: `${path}.pub`, generate: `cat -- ${quote(`${tmp}/key.pub`)}`, ...PUBLIC }),
    { command: `rm -rf -- ${quote(tmp)}` },
  ];
}

/** A line per key type (`rsa: ssh-rsa 3072 bits, private 0600 root:root`), for the diff. */
function describeKeys(keys: readonly HostKeyFile[]): string {
  return keys.map((k) => `${k.kind}: ${k.private === null ? 'absent' : `${k.keyType ?? '?'} ${k.bits ?? '?'} bits, private ${k.private.mode} ${k.private.owner}:${k.private.group}`}\n`).join('');
}

export const sshHostKeys = defineTask({
  name: 'ssh_host_keys',
  description: 'sshd host keys of the listed types only (RSA at a minimum size), private 0600 / public 0644, and /etc/ssh/moduli without small groups; new keys recorded in known_hosts and confirmed',
  example:
    '- name: Host keys ed25519 and RSA 4096 only, moduli of 3072 bits or more\n  ssh_host_keys:\n    types: [ed25519, rsa]\n    rsa_bits: 4096\n    moduli_min_bits: 3072',
  schema: argsSchema,
  facts: (a) => ({ keys: hostKeysAt(a.moduli_min_bits ?? null), sshd: sshdAt(DEFAULT_SSHD_CONFIG) }),
  plan(a, facts, ctx) {
    const f = facts.keys;
    const sshd = facts.sshd;
    if (!sshd.installed) return skip('sshd is not installed');
    const presented = sshd.effective?.hostkey ?? DEFAULT_HOSTKEYS;
    const steps: Step[] = [];
    const what: string[] = [];
    const removed: string[] = [];
    const generated: KeyKind[] = [];
    for (const kind of KEY_TYPES) {
      const key = f.keys[kind];
      if (!(a.types as readonly string[]).includes(kind)) {
        if (key.keyType === null) continue;
        steps.push({ command: `rm -f -- ${quote(keyPath(kind))} ${quote(`${keyPath(kind)}.pub`)}` });
        what.push(`remove the ${kind} host key`);
        removed.push(key.keyType);
        continue;
      }
      const why = regenerate(key, a.rsa_bits);
      if (key.private === null || why !== undefined) {
        if (!f.keygen) throw new TaskError(`the ${kind} host key has to be generated (${why}), but ssh-keygen is not installed`);
        steps.push(...generateSteps(kind, a.rsa_bits));
        what.push(`generate the ${kind} host key${kind === 'rsa' ? ` (${a.rsa_bits} bits)` : ''} (${why})`);
        generated.push(kind);
        continue;
      }
      const pub = `${keyPath(kind)}.pub`;
      const pubSteps = key.public === null ? writeFileSteps({ path: pub, generate: `ssh-keygen -y -f ${quote(keyPath(kind))}`, ...PUBLIC }) : attrSteps(pub, key.public, PUBLIC);
      if (pubSteps.length > 0) what.push(key.public === null ? `write the missing public key ${pub}` : `set the public key ${pub} to root:root 0644`);
      const privSteps = attrSteps(keyPath(kind), key.private, PRIVATE);
      if (privSteps.length > 0) what.push(`set the private key ${keyPath(kind)} to root:root 0600`);
      steps.push(...pubSteps, ...privSteps);
    }
    const keysChange = removed.length > 0 || generated.length > 0;
    const min = a.moduli_min_bits;
    if (min !== undefined && f.moduli && f.moduli.weak > 0) {
      if (f.moduli.weak >= f.moduli.groups) throw new TaskError(`${MODULI} has no group of ${min} bits or more: removing the ${f.moduli.weak} smaller ones would leave it empty`);
      steps.push(
        ...writeFileSteps({
          path: MODULI,
          generate: `awk ${quote(`!(${moduliSmallerThan(min)})`)} ${quote(MODULI)}`,
          validate: `awk '!/^#/ && NF >= 7 { n++ } END { exit n == 0 }' %s`,
        }),
      );
      what.push(`remove ${f.moduli.weak} of ${f.moduli.groups} Diffie-Hellman groups under ${min} bits from ${MODULI}`);
    }
    const moduliNote = min !== undefined && f.moduli === null ? `; ${MODULI} does not exist` : '';
    const kept = a.types.filter((k) => presented.includes(keyPath(k)));
    const summaryOk = `host keys ${kept.join(', ') || '(none presented)'} only, private keys 0600 and public keys 0644${min !== undefined && f.moduli ? `, ${MODULI} has no group under ${min} bits` : ''}`;
    if (steps.length === 0) return ok(summaryOk + moduliNote);

    if (keysChange) {
      const reload = reloadStep(ctx.host, sshd.pid);
      if (reload) steps.push(reload);
    }
    const after: HostKeysFacts = predicted(f, a);
    const diffs: Diff[] = keysChange ? [diffOf(`${SSH_DIR}/ssh_host_*_key`, describeKeys(KEY_TYPES.map((k) => f.keys[k])), describeKeys(KEY_TYPES.map((k) => after.keys[k])))] : [];
    return change(`${what.join('; ')}${moduliNote}`, steps, {
      diffs,
      predictions: [{ request: hostKeysAt(min ?? null), value: after }],
      ...(keysChange
        ? {
            risk: 'access' as const,
            hostKeys: { files: kept.map((k) => `${keyPath(k)}.pub`), removed },
          }
        : {}),
    });
  },
});

/** The fact once the plan is applied (check mode shows later tasks this state). */
function predicted(f: HostKeysFacts, a: SshHostKeysArgs): HostKeysFacts {
  const after = (kind: KeyKind): HostKeyFile => {
    const key = f.keys[kind];
    if (!(a.types as readonly string[]).includes(kind)) return { kind, private: null, public: null, bits: null, keyType: null };
    const fresh = regenerate(key, a.rsa_bits) !== undefined;
    const bits = fresh ? (kind === 'rsa' ? a.rsa_bits : 256) : key.bits;
    const file = (info: HostKeyFile['private'], attrs: typeof PRIVATE | typeof PUBLIC): PresentFile => ({
      exists: true,
      type: 'file',
      mode: attrs.mode,
      owner: 'root',
      group: 'root',
      uid: 0,
      gid: 0,
      size: fresh ? 0 : (info?.size ?? 0),
    });
    return { kind, private: file(key.private, PRIVATE), public: file(key.public, PUBLIC), bits, keyType: keyTypeName(kind, bits) };
  };
  return {
    keygen: f.keygen,
    keys: { dsa: after('dsa'), ecdsa: after('ecdsa'), ed25519: after('ed25519'), rsa: after('rsa') },
    moduli: f.moduli && a.moduli_min_bits !== undefined ? { groups: f.moduli.groups - f.moduli.weak, weak: 0 } : f.moduli,
  };
}
