/**
 * IPv4/IPv6 addresses and networks as iptables prints them: parse (host bits
 * cleared, masks as prefix lengths), print (glibc inet_ntop for IPv6), and
 * containment.
 */

export type IpVersion = 4 | 6;

function parseV4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

const v4ToText = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

function parseV6(text: string): number[] | undefined {
  let s = text.toLowerCase();
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.') && lastColon >= 0) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    s = s.slice(0, lastColon + 1) + (s.endsWith('::') || s.slice(0, lastColon + 1).endsWith('::') ? '' : '0');
    if (s.endsWith(':0')) s = s.slice(0, -2);
    else if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0] as string);
  const back = halves.length === 2 ? group(halves[1] as string) : [];
  if (!head || !back) return undefined;
  const want = 8 - tail.length;
  if (halves.length === 2) {
    const fill = want - head.length - back.length;
    if (fill < 1) return undefined;
    return [...head, ...new Array<number>(fill).fill(0), ...back, ...tail];
  }
  if (head.length !== want) return undefined;
  return [...head, ...tail];
}

/** glibc inet_ntop for IPv6: longest zero run (>= 2 groups) as `::`, embedded IPv4 for ::/96 and ::ffff:0:0/96. */
function v6ToText(words: readonly number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] === 0) {
      let j = i;
      while (j < 8 && words[j] === 0) j++;
      if (j - i > bestLen) {
        bestBase = i;
        bestLen = j - i;
      }
      i = j;
    } else i++;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += v4ToText((words[6] as number) * 65536 + (words[7] as number));
      break;
    }
    out += (words[i] as number).toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

export interface Cidr {
  readonly version: IpVersion;
  /** 32-bit number (v4) or eight 16-bit words (v6). */
  readonly v4?: number;
  readonly v6?: readonly number[];
  readonly prefix: number;
}

function maskLen(mask: string, version: IpVersion): number | undefined {
  if (/^\d+$/.test(mask)) {
    const n = Number(mask);
    return n <= (version === 4 ? 32 : 128) ? n : undefined;
  }
  const bits: number[] = [];
  if (version === 4) {
    const m = parseV4(mask);
    if (m === undefined) return undefined;
    for (let i = 31; i >= 0; i--) bits.push(Math.floor(m / 2 ** i) % 2);
  } else {
    const m = parseV6(mask);
    if (!m) return undefined;
    for (const w of m) for (let i = 15; i >= 0; i--) bits.push((w >> i) & 1);
  }
  const len = bits.indexOf(0) < 0 ? bits.length : bits.indexOf(0);
  if (bits.slice(len).some((b) => b === 1)) return undefined; // non-contiguous mask
  return len;
}

/** Parse `a.b.c.d[/len|/mask]` or an IPv6 address with optional prefix; host bits are cleared. */
export function parseCidr(text: string, version: IpVersion): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  if (version === 4) {
    const n = parseV4(addr);
    if (n === undefined) return undefined;
    const prefix = maskText === undefined ? 32 : maskLen(maskText, 4);
    if (prefix === undefined) return undefined;
    const size = 2 ** (32 - prefix);
    return { version, v4: n - (n % size), prefix };
  }
  const w = parseV6(addr);
  if (!w) return undefined;
  const prefix = maskText === undefined ? 128 : maskLen(maskText, 6);
  if (prefix === undefined) return undefined;
  const masked = w.map((word, i) => {
    const keep = Math.max(0, Math.min(16, prefix - i * 16));
    return keep === 0 ? 0 : word & ((0xffff << (16 - keep)) & 0xffff);
  });
  return { version, v6: masked, prefix };
}

export function cidrToText(c: Cidr): string {
  return c.version === 4 ? `${v4ToText(c.v4 as number)}/${c.prefix}` : `${v6ToText(c.v6 as number[])}/${c.prefix}`;
}

/** Does the CIDR contain this address (same family)? */
export function cidrContains(c: Cidr, ip: string): boolean {
  const host = parseCidr(ip, c.version);
  if (!host) return false;
  const net = parseCidr(`${ip}/${c.prefix}`, c.version);
  if (!net) return false;
  return cidrToText(net) === cidrToText(c);
}

export function ipVersionOf(ip: string): IpVersion | undefined {
  if (parseV4(ip) !== undefined) return 4;
  if (parseV6(ip) !== undefined) return 6;
  return undefined;
}
