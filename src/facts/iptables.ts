/**
 * iptables facts: the running ruleset as `iptables-save` (or `ip6tables-save`)
 * prints it, for ALL tables, plus the backend (`iptables -V`: nf_tables or
 * legacy). One fact per IP version, shared by the iptables task (which reads
 * the table it manages) and firewall_persist (which saves the whole output):
 * the iptables task's check-mode prediction replaces this fact's value, so a
 * later firewall_persist sees the predicted ruleset.
 *
 * Recorded outputs: test/fixtures/facts/iptables/ (Debian 11/12/13 all use
 * the nf_tables backend by default).
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export type IptablesBackend = 'nft' | 'legacy' | 'unknown';

export interface IptablesChain {
  readonly name: string;
  /** `ACCEPT`/`DROP` for built-in chains, null for user-defined chains (`-`). */
  readonly policy: string | null;
}

export interface IptablesTable {
  readonly name: string;
  /** In iptables-save order: built-ins first, then user chains. */
  readonly chains: readonly IptablesChain[];
  /** Rules in order; `spec` is the text after `-A CHAIN `. */
  readonly rules: readonly { readonly chain: string; readonly spec: string }[];
}

export interface IptablesSave {
  readonly ipVersion: 4 | 6;
  /** iptables-save is installed. */
  readonly available: boolean;
  readonly backend: IptablesBackend;
  /** `1.8.9` */
  readonly version: string;
  /** Tables present in the output (a table never used may be absent: read it as empty). */
  readonly tables: Readonly<Record<string, IptablesTable>>;
  /** iptables-nft says rules also exist in the legacy backend (they are not shown, and still filter). */
  readonly legacyTablesPresent: boolean;
  /** The save output as read (or as predicted by a planned iptables change). */
  readonly raw: string;
}

export interface IptablesArgs {
  readonly ipVersion: 4 | 6;
}

/** Built-in chains and their order per table, as iptables-save prints them. */
export const BUILTIN_CHAINS: Readonly<Record<string, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export const tools = (v: 4 | 6) => (v === 6 ? { save: 'ip6tables-save', restore: 'ip6tables-restore', bin: 'ip6tables' } : { save: 'iptables-save', restore: 'iptables-restore', bin: 'iptables' });

function script(v: 4 | 6): string {
  const t = tools(v);
  return [
    // sbin is not on a normal user's PATH on Debian
    'PATH="$PATH:/usr/sbin:/sbin"',
    `if ! command -v ${t.save} >/dev/null 2>&1; then echo __missing; exit 0; fi`,
    // its first line, cut by the shell
    `v=$(${t.bin} -V 2>&1); nl='\n'; printf '__version=%s\\n' "\${v%%"$nl"*}"`,
    'echo __save_begin',
    `${t.save} 2>&1`,
    'echo "__save_rc=$?"',
  ].join('\n');
}

/** Pure: the tables of an iptables-save text. */
export function parseSaveText(text: string): { tables: Record<string, IptablesTable>; legacyTablesPresent: boolean } {
  const tables: Record<string, IptablesTable> = {};
  let cur: { name: string; chains: IptablesChain[]; rules: { chain: string; spec: string }[] } | undefined;
  let legacy = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (/iptables-legacy tables present/.test(line)) legacy = true;
      continue;
    }
    if (line.startsWith('*')) {
      cur = { name: line.slice(1), chains: [], rules: [] };
      continue;
    }
    if (!cur) continue;
    if (line === 'COMMIT') {
      tables[cur.name] = cur;
      cur = undefined;
      continue;
    }
    const chain = /^:(\S+)\s+(\S+)/.exec(line);
    if (chain) {
      cur.chains.push({ name: chain[1] as string, policy: chain[2] === '-' ? null : (chain[2] as string) });
      continue;
    }
    const rule = /^(?:\[\d+:\d+\]\s+)?-A\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (rule) cur.rules.push({ chain: rule[1] as string, spec: (rule[2] ?? '').trim() });
  }
  return { tables, legacyTablesPresent: legacy };
}

/** Pure parser of the fact command's output. */
export function parseIptablesFact(stdout: string, ipVersion: 4 | 6, exitCode = 0): IptablesSave {
  if (/^__missing$/m.test(stdout)) {
    return { ipVersion, available: false, backend: 'unknown', version: '', tables: {}, legacyTablesPresent: false, raw: '' };
  }
  const version = /^__version=(.*)$/m.exec(stdout)?.[1] ?? '';
  const begin = stdout.indexOf('__save_begin\n');
  const rcMatch = /\n?__save_rc=(\d+)\s*$/m.exec(stdout);
  if (begin < 0 || !rcMatch) throw new FactError('iptables_save', `unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const raw = stdout.slice(begin + '__save_begin\n'.length, rcMatch.index + (stdout[rcMatch.index] === '\n' ? 1 : 0));
  if (rcMatch[1] !== '0') {
    const hint = /Permission denied|must be root/i.test(raw) ? ' (reading the ruleset needs root: become: true)' : '';
    throw new FactError('iptables_save', `${tools(ipVersion).save} failed (exit ${rcMatch[1]})${hint}: ${raw.trim().split('\n').slice(-2).join(' | ')}`);
  }
  const backend: IptablesBackend = /nf_tables/.test(version) ? 'nft' : /legacy/.test(version) || /v1\.[0-6]\./.test(version) ? 'legacy' : /v\d/.test(version) ? 'legacy' : 'unknown';
  const v = /v(\d+\.\d+(?:\.\d+)?)/.exec(version)?.[1] ?? '';
  const { tables, legacyTablesPresent } = parseSaveText(raw);
  // the warning comes from stderr (captured to see it): keep `raw` what iptables-save writes to a file
  const clean = raw.replace(/^# Warning: iptables-legacy tables present.*\n/gm, '');
  return { ipVersion, available: true, backend, version: v, tables, legacyTablesPresent, raw: clean };
}

export const iptablesSaveFact: Fact<IptablesArgs, IptablesSave> = {
  name: 'iptables_save',
  command: (args) => script(args.ipVersion),
  parse: (stdout, args, exitCode) => parseIptablesFact(stdout, args.ipVersion, exitCode),
  key: (args) => `v${args.ipVersion}`,
};

/** The fact request for one IP version. */
export const iptablesSave = (ipVersion: 4 | 6): FactRequest<IptablesSave> => req(iptablesSaveFact, { ipVersion });

/** A table as read, or the empty table the kernel would show (built-ins, policy ACCEPT). */
export function tableOf(save: IptablesSave, name: string): IptablesTable {
  return (
    save.tables[name] ?? {
      name,
      chains: (BUILTIN_CHAINS[name] ?? []).map((c) => ({ name: c, policy: 'ACCEPT' })),
      rules: [],
    }
  );
}

/** Render tables as iptables-save does (counters [0:0]); used for predictions. */
export function renderSave(tables: readonly IptablesTable[], header = '# Generated by provision (predicted)'): string {
  const out: string[] = [];
  for (const t of tables) {
    out.push(header, `*${t.name}`);
    for (const c of t.chains) out.push(`:${c.name} ${c.policy ?? '-'} [0:0]`);
    for (const r of t.rules) out.push(r.spec ? `-A ${r.chain} ${r.spec}` : `-A ${r.chain}`);
    out.push('COMMIT', '# Completed');
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * Normalise save text for comparing a saved file with the running rules:
 * drop `#` comments and blank lines, zero the `[packets:bytes]` counters,
 * trim trailing spaces, order tables by name.
 */
export function normaliseSave(text: string): string {
  const blocks: string[] = [];
  let cur: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const l = line.replace(/\[\d+:\d+\]/g, '[0:0]');
    if (l.startsWith('*')) cur = [l];
    else if (cur) {
      cur.push(l);
      if (l === 'COMMIT') {
        blocks.push(cur.join('\n'));
        cur = undefined;
      }
    }
  }
  return blocks.sort().join('\n') + (blocks.length ? '\n' : '');
}
