/**
 * The apt sources: /etc/apt/sources.list and every
 * /etc/apt/sources.list.d/*.list, path → text (read via base64, so any byte
 * survives). What `apt_repository` compares a repo line with, as Ansible's
 * module reads the same files.
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export type AptSources = Readonly<Record<string, string>>;

export function parseAptSources(stdout: string): AptSources {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const m = /^file=(\/\S+) ([A-Za-z0-9+/=]*)$/.exec(line);
    if (!m) throw new FactError('apt_sources', `unexpected output: ${JSON.stringify(line.slice(0, 200))}`);
    out[m[1] as string] = Buffer.from(m[2] as string, 'base64').toString('utf8');
  }
  return out;
}

export const aptSourcesFact: Fact<null, AptSources> = {
  name: 'apt_sources',
  command: () =>
    [
      'for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do',
      '  [ -f "$f" ] || continue',
      `  printf 'file=%s %s\\n' "$f" "$(base64 -w0 < "$f")"`,
      'done',
      'exit 0',
    ].join('\n'),
  parse: (stdout) => parseAptSources(stdout),
  key: () => 'all',
};

export const aptSources = (): FactRequest<AptSources> => req(aptSourcesFact, null);
