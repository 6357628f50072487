/**
 * Ansible's INI inventory format, read the way ansible-core 2.14's `ini`
 * plugin reads it (plugins/inventory/ini.py):
 *
 *   host0 ansible_host=10.0.0.5      # before any section: ungrouped
 *   [web]                            # hosts of group web
 *   web[01:20].example.com:2222 http_port=8080
 *   [web:vars]                       # group variables, key=value per line
 *   ansible_user=deploy
 *   [prod:children]                  # child groups
 *   web
 *
 * Values go through Python's literal_eval (see inventory-ini-values.ts), in host
 * lines and `:vars` sections alike. Comments are lines starting with `#` or `;`,
 * and `#` words on host lines. A `:vars` section needs its group declared
 * somewhere in the file ([g] or [g:children]), a `:children` entry needs the
 * child declared: otherwise the file is refused, as Ansible refuses it.
 * Every problem is reported with file:line:col.
 */
import type { SourceLocation } from '../contract/errors.js';
import { checkVarsTypes } from './inventory-check.js';
import { parseIniValue, ShlexError, shlexSplit } from './inventory-ini-values.js';
import { expandHostPattern, HostPatternError, type InventoryBuilder, type Origin } from './inventory-model.js';
import { formatPath } from '../schema/validate.js';

const SECTION_RE = /^\[([^:\]\s]+)(?::([\p{L}\p{N}_]+))?\]\s*(?:#.*)?$/u;
const GROUP_NAME_RE = /^([^:\]\s]+)\s*(?:#.*)?$/u;
/** Python's str.splitlines() boundaries. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

interface Pending {
  line: number;
  state: 'vars' | 'children';
  name: string;
  parents: string[];
}

/** Read INI inventory text into the builder. `file` is the name used in messages. */
export function readIniInventory(text: string, file: string, b: InventoryBuilder): void {
  const lines = text.split(LINE_BREAK);
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  const at = (line: number, column: number): SourceLocation => ({ file, line, column });

  const addPendingChildren = (name: string): void => {
    const p = pending.get(name);
    if (!p) return;
    pending.delete(name);
    for (const parent of p.parents) {
      b.addChild(parent, name, { location: at(p.line, 1), path: `[${parent}:children]` });
      if (pending.get(parent)?.state === 'children') addPendingChildren(parent);
    }
  };

  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') return;
    const col = (offset: number): number => indent + offset + 1;

    const section = SECTION_RE.exec(line);
    if (section) {
      group = section[1] as string;
      const kind = section[2] ?? 'hosts';
      if (kind !== 'hosts' && kind !== 'vars' && kind !== 'children') {
        b.issue(`section [${group}:${kind}] has unknown type "${kind}" (expected [${group}], [${group}:vars] or [${group}:children])`, at(lineNo, col(0)));
        state = 'hosts';
        group = '\u0000invalid';
        return;
      }
      state = kind;
      if (!b.groups.has(group)) {
        if (state === 'vars' && !pending.has(group)) pending.set(group, { line: lineNo, state, name: group, parents: [] });
        b.group(group, { location: at(lineNo, col(1)), path: `[${group}]` });
      }
      const p = pending.get(group);
      if (p && state !== 'vars') {
        if (p.state === 'children') addPendingChildren(group);
        else pending.delete(group);
      }
      return;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      b.issue(`invalid section "${line}": a section is [group], [group:vars] or [group:children], with no spaces`, at(lineNo, col(0)));
      return;
    }
    if (group === '\u0000invalid') return;

    if (state === 'hosts') readHostLine(line, lineNo, col, group, file, b);
    else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        b.issue(`expected key=value in [${group}:vars], got "${line}"`, at(lineNo, col(0)));
        return;
      }
      const key = line.slice(0, eq).trim();
      const rawValue = line.slice(eq + 1);
      const value = parseIniValue(rawValue.trim());
      const valueCol = col(eq + 1 + (rawValue.length - rawValue.trimStart().length));
      const origin: Origin = { location: at(lineNo, valueCol), path: formatPath([group, 'vars', key]) };
      checkVarsTypes({ [key]: value }, () => origin.location, [group, 'vars'], b);
      b.setGroupVar(group, key, value, origin);
    } else {
      const m = GROUP_NAME_RE.exec(line);
      if (!m) {
        b.issue(`expected a group name in [${group}:children], got "${line}"`, at(lineNo, col(0)));
        return;
      }
      const child = m[1] as string;
      if (!b.groups.has(child)) {
        const p = pending.get(child);
        if (!p) pending.set(child, { line: lineNo, state: 'children', name: child, parents: [group] });
        else p.parents.push(group);
      } else {
        b.addChild(group, child, { location: at(lineNo, col(0)), path: `[${group}:children]` });
      }
    }
  });

  for (const p of pending.values()) {
    if (p.state === 'vars') {
      b.issue(`section [${p.name}:vars] is for a group this file does not define (add [${p.name}] or [${p.name}:children])`, at(p.line, 1));
    } else {
      b.issue(`section [${p.parents[p.parents.length - 1]}:children] names group "${p.name}", which this file does not define (add [${p.name}])`, at(p.line, 1));
    }
  }
}

function readHostLine(line: string, lineNo: number, col: (offset: number) => number, group: string, file: string, b: InventoryBuilder): void {
  const at = (column: number): SourceLocation => ({ file, line: lineNo, column });
  let tokens;
  try {
    tokens = shlexSplit(line);
  } catch (err) {
    b.issue(`cannot read host line: ${err instanceof ShlexError ? err.message.toLowerCase() : String(err)}`, at(col(0)));
    return;
  }
  const first = tokens[0];
  if (!first) return;
  const pattern = first.value;
  const hostLoc = at(col(first.start));
  if (pattern === '') {
    b.issue('empty host name', hostLoc);
    return;
  }
  if (pattern.trim() === '---') {
    b.issue(`invalid host "---": this looks like a YAML file (name it .yaml or .yml)`, hostLoc);
    return;
  }
  let names: string[];
  let port: number | undefined;
  try {
    ({ names, port } = expandHostPattern(pattern));
  } catch (err) {
    b.issue(`invalid host pattern "${pattern}": ${err instanceof HostPatternError ? err.message : String(err)}`, hostLoc);
    return;
  }
  if (pattern.trim().endsWith(':') && port === undefined) {
    b.issue(`invalid host "${pattern}": a trailing ":" must be followed by a port`, hostLoc);
    return;
  }
  if (names.length === 0) b.warn(`host range "${pattern}" names no hosts`, hostLoc);

  const vars: Record<string, unknown> = {};
  const locations = new Map<string, SourceLocation>();
  let bad = false;
  for (const t of tokens.slice(1)) {
    const eq = t.value.indexOf('=');
    if (eq < 0) {
      b.issue(`expected key=value after the host name, got "${t.value}"`, at(col(t.start)));
      bad = true;
      continue;
    }
    const key = t.value.slice(0, eq);
    vars[key] = parseIniValue(t.value.slice(eq + 1));
    const rawEq = line.slice(t.start, t.end).indexOf('=');
    locations.set(key, at(col(t.start + (rawEq >= 0 ? rawEq + 1 : 0))));
  }
  if (bad) return;
  checkVarsTypes(vars, (k) => locations.get(k) ?? hostLoc, [group, 'hosts', pattern], b);
  const origin: Origin = { location: hostLoc, path: formatPath([group, 'hosts', pattern]) };
  for (const name of names) {
    b.addHost(name, group, port, origin);
    for (const [k, v] of Object.entries(vars)) {
      b.setHostVar(name, k, v, { location: locations.get(k) ?? hostLoc, path: formatPath([group, 'hosts', pattern, k]) });
    }
  }
}
