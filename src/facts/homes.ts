/**
 * Home directories of the interactive local users: every /etc/passwd entry
 * with a uid in [uidMin, uidMax] and a login shell (not `nologin`/`false`),
 * with what is at its home (`stat -L`: a link to a directory is read as the
 * directory it points to, as chmod follows it; its owner is that directory's). One command: the shell's `read` over
 * /etc/passwd, one `stat` per existing home.
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { STAT_FORMAT, statInfo, type PresentFile } from './files.js';

export interface HomesArgs {
  readonly uidMin: number;
  readonly uidMax: number;
}

export interface UserHome {
  readonly user: string;
  readonly uid: number;
  readonly home: string;
  /** `none`: the home is `/` or empty; `missing`: nothing there, or not a directory. */
  readonly dir: PresentFile | 'none' | 'missing';
}

function script(a: HomesArgs): string {
  return [
    "while IFS=: read -r n _ u _ _ h s || [ -n \"$n\" ]; do",
    "  case $u in ''|*[!0-9]*) continue ;; esac",
    `  [ "$u" -ge ${a.uidMin} ] && [ "$u" -le ${a.uidMax} ] || continue`,
    '  case $s in */nologin|*/false|nologin|false) continue ;; esac',
    // a record per user, a line per field: a passwd field holds anything but ':' and a newline
    "  printf 'home\\n%s\\n%s\\n%s\\n' \"$n\" \"$u\" \"$h\"",
    '  if [ -z "$h" ] || [ "$h" = / ]; then echo none',
    `  elif [ -d "$h" ]; then stat -L -c '${STAT_FORMAT}' -- "$h" || echo; else echo missing; fi`,
    'done < /etc/passwd',
  ].join('\n');
}

/** Pure parser of the fact command's output. */
export function parseHomes(stdout: string, exitCode = 0): UserHome[] {
  if (exitCode !== 0) throw new FactError('homes', `cannot read /etc/passwd (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const lines = stdout.split('\n');
  const out: UserHome[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== 'home') continue;
    const [user, uid, home, state] = lines.slice(i + 1, i + 5);
    const dir = state === 'none' || state === 'missing' ? state : state === undefined ? undefined : statInfo(state, 'directory');
    if (user === undefined || home === undefined || uid === undefined || !/^\d+$/.test(uid)) throw new FactError('homes', `cannot parse ${JSON.stringify(lines.slice(i).join('\n').slice(0, 200))}`);
    if (dir === undefined) throw new FactError('homes', `cannot stat the home of ${user}, ${home} (exit ${exitCode}): ${JSON.stringify(state)}`);
    out.push({ user, uid: Number(uid), home, dir });
    i += 4;
  }
  return out;
}

export const homesFact: Fact<HomesArgs, UserHome[]> = {
  name: 'homes',
  command: script,
  parse: (stdout, _args, exitCode) => parseHomes(stdout, exitCode),
  key: (a) => `${a.uidMin}-${a.uidMax}`,
};

export const homesOf = (uidMin: number, uidMax: number): FactRequest<UserHome[]> => req(homesFact, { uidMin, uidMax });
