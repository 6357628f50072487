/**
 * SSH authorized_keys lines: parse one (options may hold quoted spaces),
 * merge the wanted keys into a file's content (by key type + blob; options
 * and comments of a listed key follow the list) or take keys out, the
 * lockout check on the keys of the user we connect as, and the atomic write
 * of ~user/.ssh/authorized_keys. Used by the `user` and `authorized_key` tasks.
 */
import { createHash } from 'node:crypto';
import { TaskError } from '../../contract/errors.js';
import type { AccessInfo, Step } from '../../contract/task.js';
import { writeFileSteps } from './files.js';

const KEY_TYPE = /^(ssh-(rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/;

export interface KeyLine {
  readonly options: string | null;
  readonly type: string;
  readonly blob: string;
  readonly comment: string;
  /** `type blob`: what identifies the key. */
  readonly id: string;
}

/** Parse one authorized_keys line (options may contain quoted spaces); null for comments, blanks and garbage. */
export function parseKeyLine(line: string): KeyLine | null {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return null;
  let rest = text;
  let options: string | null = null;
  const first = text.split(/\s+/)[0] ?? '';
  if (!KEY_TYPE.test(first)) {
    let i = 0;
    let quoted = false;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '\\' && quoted) i++;
      else if (c === '"') quoted = !quoted;
      else if (!quoted && (c === ' ' || c === '\t')) break;
    }
    if (quoted) return null;
    options = text.slice(0, i);
    rest = text.slice(i).trim();
  }
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,3})(?:\s+(.*))?$/.exec(rest);
  if (!m || !KEY_TYPE.test(m[1] as string)) return null;
  const type = m[1] as string;
  const blob = m[2] as string;
  return { options, type, blob, comment: m[3] ?? '', id: `${type} ${blob}` };
}

/** The authorized_keys content after applying the requested keys. */
export function mergeKeys(current: string, wanted: readonly string[], exclusive: boolean): string {
  const want = new Map<string, string>();
  for (const w of wanted) {
    const k = parseKeyLine(w);
    if (!k || w.includes('\n')) throw new TaskError(`not an SSH public key line: ${JSON.stringify(w.slice(0, 80))}`);
    if (!want.has(k.id)) want.set(k.id, w.trim());
  }
  let lines: string[];
  if (exclusive) lines = [...want.values()];
  else {
    const seen = new Set<string>();
    lines = current
      .split('\n')
      .filter((l, i, all) => !(l === '' && i === all.length - 1))
      .map((l) => {
        const k = parseKeyLine(l);
        if (!k || !want.has(k.id)) return l;
        seen.add(k.id);
        return want.get(k.id) as string;
      });
    for (const [id, l] of want) if (!seen.has(id)) lines.push(l);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The content without the lines of these keys (by type + blob, whatever their options and comments). */
export function removeKeys(current: string, ids: ReadonlySet<string>): string {
  const lines = current.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
  const kept = lines.filter((l) => {
    const k = parseKeyLine(l);
    return k === null || !ids.has(k.id);
  });
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

const keysOf = (text: string): KeyLine[] => text.split('\n').flatMap((l) => parseKeyLine(l) ?? []);
const fingerprint = (id: string): string => `SHA256:${createHash('sha256').update(Buffer.from(id.split(' ')[1] ?? '', 'base64')).digest('base64').replace(/=+$/, '')}`;

/**
 * Would the authorized_keys of `name`, the user we connect as, going from
 * `before` to `after`, leave out every key this session may have logged in
 * with? (Only when one of them is in the file now: a key accepted from
 * elsewhere, such as a certificate, is not ours to judge.) The reason, or
 * undefined.
 */
export function keysLockout(name: string, before: string, after: string, access: AccessInfo): string | undefined {
  const was = keysOf(before);
  const will = keysOf(after);
  if (access.keys.length === 0) {
    return was.length > 0 && will.length === 0 ? `would remove every authorized key of ${name}, the user we connect as with public key authentication` : undefined;
  }
  const ours = was.filter((k) => access.keys.includes(k.id));
  if (ours.length === 0 || will.some((k) => access.keys.includes(k.id))) return undefined;
  return `would remove the key this session logs in with (${ours.map((k) => `${k.type} ${fingerprint(k.id)}`).join(', ')}) from the authorized keys of ${name}, the user we connect as`;
}

/**
 * Steps writing authorized_keys of `name` atomically through the shared
 * writer: the home comes from passwd at apply time (the user may be new),
 * ~/.ssh is made 0700 and owned by the user (a symlinked .ssh is refused),
 * the file is 0600 and owned by the user and their login group.
 */
export function writeKeysSteps(name: string, content: string): Step[] {
  return writeFileSteps({ home: name, path: '.ssh/authorized_keys', content, mode: '0600', parent: { mode: '0700' } });
}
