/**
 * `apt_key` and `rpm_key` planners, and the OpenPGP reading they share.
 *
 * Keys (test/fixtures/keys): `a.asc`/`a.gpg` (ed25519) and `b.asc` (rsa2048)
 * were generated with gpg 2.2 on Debian 12 for these tests (`a-and-b.asc` is
 * `gpg --armor --export` of both); `debian-bookworm-stable.asc` is the real
 * /etc/apt/trusted.gpg.d file of a Debian 12 host. Their fingerprints below
 * are what `gpg --show-keys --with-colons` prints for them.
 *
 * Facts: the `key_files` and `rpm_keys` outputs under "captured" were printed
 * by the fact commands in a debian12 container (rpm 4.18 from Debian's `rpm`
 * package); every other fact value is hand-made from the fixture keys.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/contract/task.js';
import { keyFiles, parseKeyFiles, parseRpmKeys } from '../../../src/facts/keys.js';
import { MAX_BODY_BYTES, parseUrlBody } from '../../../src/facts/url.js';
import { aptKey, managedPaths } from '../../../src/tasks/apt_key.js';
import { armor, normalizeKeyId, parseKeyring } from '../../../src/tasks/lib/pgp.js';
import { rpmKey } from '../../../src/tasks/rpm_key.js';
import { ctx, ctxOf, hostOf } from './_helpers.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/keys/${name}`, import.meta.url));
const b64 = (name: string): string => fixture(name).toString('base64');
const captured = (name: string): string => readFileSync(new URL(`../../fixtures/facts/${name}`, import.meta.url), 'utf8');
const TRUSTED_DEBIAN12 = ['bookworm-automatic', 'bookworm-security-automatic', 'bookworm-stable', 'bullseye-automatic', 'bullseye-security-automatic', 'bullseye-stable', 'trixie-automatic', 'trixie-security-automatic', 'trixie-stable'].map(
  (n) => `/etc/apt/trusted.gpg.d/debian-archive-${n}.asc`,
);
const A = '3568377D019011F67CF2E6E45C59B9EB6891405A';
const B = '06094F0A8BC4904E1F0574A7DE53B50F9A5EF725';
const DEBIAN = '4D64FEC119C2029067D6E791F8D2585B8783D481';
const URL_ = 'https://download.example.org/linux/debian/gpg';
const DIR = '/etc/apt/trusted.gpg.d';

const aptPlan = (raw: unknown, facts: Record<string, unknown>): Plan => aptKey.plan(aptKey.schema.parse(raw), facts as never, ctx);
const rpmPlan = (raw: unknown, facts: Record<string, unknown>): Plan => rpmKey.plan(rpmKey.schema.parse(raw), facts as never, ctxOf(hostOf('rhel')));
const invalid = (schema: typeof aptKey.schema | typeof rpmKey.schema, raw: unknown) => schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

describe('OpenPGP keys read without gpg', () => {
  it('armored and binary keys give the fingerprints gpg prints; a keyring of several keys gives each', () => {
    expect(parseKeyring(fixture('a.asc'), 'a')).toMatchObject({ armored: true, keys: [{ fingerprint: A }] });
    expect(parseKeyring(fixture('a.gpg'), 'a')).toMatchObject({ armored: false, keys: [{ fingerprint: A }] });
    expect(parseKeyring(fixture('a-and-b.asc'), 'ab').keys.map((k) => k.fingerprint)).toEqual([A, B]);
    expect(parseKeyring(fixture('debian-bookworm-stable.asc'), 'd').keys.map((k) => k.fingerprint)).toEqual([DEBIAN]);
    expect(parseKeyring(fixture('b.asc'), 'b').keys[0]?.subkeys).toEqual([]);
  });

  it('one key re-armored reads back as the same packets', () => {
    const [a, b] = parseKeyring(fixture('a-and-b.asc'), 'ab').keys;
    const again = parseKeyring(Buffer.from(armor(b as never)), 'b');
    expect(again.keys).toEqual([b]);
    expect(armor(a as never)).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n[\s\S]*\n=[A-Za-z0-9+/]{4}\n-----END PGP PUBLIC KEY BLOCK-----\n$/);
    expect(parseKeyring(Buffer.from(armor(a as never)), 'a').keys[0]?.packets.equals(fixture('a.gpg'))).toBe(true);
  });

  it('refuses what is not a public key, naming the source', () => {
    expect(() => parseKeyring(Buffer.from('<html>Not Found</html>'), 'https://x/k')).toThrow('https://x/k: not an OpenPGP public key (no packet tag in the packet at byte 0)');
    expect(() => parseKeyring(Buffer.from('-----BEGIN PGP PRIVATE KEY BLOCK-----\n'), 'k')).toThrow('k: this is a secret key; give the public key');
    expect(() => parseKeyring(fixture('a.asc').subarray(0, 200), 'cut')).toThrow('cut: an armored key block without its END line');
    expect(() => parseKeyring(fixture('a.gpg').subarray(0, 100), 'cut')).toThrow(/cut: not an OpenPGP public key \(truncated packet/);
  });

  it('key ids: 0x, spaces, short, long and full', () => {
    expect(normalizeKeyId('0x6891405a')).toBe('6891405A');
    expect(normalizeKeyId('3568 377D 0190 11F6 7CF2  E6E4 5C59 B9EB 6891 405A')).toBe(A);
    expect(normalizeKeyId('12345')).toBeUndefined();
  });
});

describe('key facts', () => {
  it('captured key_files output (debian12): names and bytes of the path given and of the trusted keyrings; a missing path prints nothing', () => {
    const files = parseKeyFiles(captured('key-files-debian12.txt'));
    expect(Object.keys(files)).toEqual([`${DIR}/a.gpg`, ...TRUSTED_DEBIAN12]);
    expect(files[`${DIR}/a.gpg`]).toBe(b64('a.gpg'));
    expect(files[`${DIR}/debian-archive-bookworm-stable.asc`]).toBe(b64('debian-bookworm-stable.asc'));
    expect(parseKeyFiles('')).toEqual({});
    expect(() => parseKeyFiles('__file\nL2E=\n'.slice(0, 8))).toThrow('cut output');
  });

  it('url_body (hand-made outputs): the body as base64, or the download error, a cut body, or too much', () => {
    const d = { url: URL_, headers: {}, timeout: 10, validateCerts: true, agent: 'ansible-httpget' };
    expect(parseUrlBody(`size=${fixture('a.gpg').length}\nbody=${b64('a.gpg')}\n`, d)).toEqual({ base64: b64('a.gpg') });
    expect(() => parseUrlBody("failed=22\nerror=curl: (22) The requested URL returned error: 404\n", d)).toThrow(`cannot download ${URL_}: curl: (22) The requested URL returned error: 404`);
    expect(() => parseUrlBody(`size=999\nbody=${b64('a.gpg')}\n`, d)).toThrow(`${URL_}: the body was cut in transit (999 bytes served)`);
    expect(() => parseUrlBody(`size=${MAX_BODY_BYTES + 1}\n`, d)).toThrow(`${URL_} serves ${MAX_BODY_BYTES + 1} bytes, more than the ${MAX_BODY_BYTES} a key may have`);
  });

  it('captured rpm_keys outputs (debian12, rpm 4.18): none imported, two imported; no rpm', () => {
    expect(parseRpmKeys(captured('rpm-keys-debian12-none.txt'))).toEqual([]);
    expect(parseRpmKeys(captured('rpm-keys-debian12-two.txt'))).toEqual(['6891405a', '9a5ef725']);
    expect(parseRpmKeys('__no_rpm\n')).toBeNull();
    expect(() => parseRpmKeys('__keys\nerror: cannot open Packages database in /var/lib/rpm\n__end\n', 1)).toThrow('rpm -q gpg-pubkey: error: cannot open Packages database');
  });
});

describe('apt_key planner', () => {
  const asc = `${DIR}/download_example_org_linux_debian_gpg.asc`;
  const gpg = `${DIR}/download_example_org_linux_debian_gpg.gpg`;

  it('url: an armored key goes to trusted.gpg.d/NAME.asc from the bytes that were judged; the same bytes again change nothing', () => {
    const raw = { url: URL_ };
    expect(managedPaths(aptKey.schema.parse(raw))).toEqual([asc, gpg]);
    const p = aptPlan(raw, { files: {}, source: { base64: b64('a.asc') } });
    expect(p).toMatchObject({ kind: 'change', summary: `add the key from ${URL_} to ${asc}`, diffs: [{ label: asc, before: 'state: absent\n', after: `key ${A}\n` }], data: { path: asc, fingerprints: [A] } });
    if (p.kind !== 'change') return;
    expect(p.steps[0]?.command).toContain(`printf %s ${b64('a.asc')} | base64 -d > "$tmp" || exit 1`);
    expect(p.steps[0]?.command).toContain(`chmod 0644 "$tmp"`);
    expect(p.predictions?.map((x) => [x.request.id, x.value])).toEqual([[keyFiles({ paths: [asc, gpg], aptTrusted: false }).id, { [asc]: b64('a.asc') }]]);
    expect(aptPlan(raw, { files: { [asc]: b64('a.asc') }, source: { base64: b64('a.asc') } })).toEqual({ kind: 'ok', reason: `${asc} holds the key from ${URL_} (${A})` });
  });

  it('a binary key goes to NAME.gpg, and the other extension of the same name is removed', () => {
    const p = aptPlan({ url: URL_ }, { files: { [asc]: b64('a.asc') }, source: { base64: b64('a.gpg') } });
    expect(p).toMatchObject({ kind: 'change', summary: `add the key from ${URL_} to ${gpg}`, diffs: [{ label: gpg }, { label: asc, before: `key ${A}\n`, after: 'state: absent\n' }] });
    if (p.kind === 'change') expect(p.steps.at(-1)).toEqual({ command: `rm -f -- ${asc}` });
  });

  it('a key served anew replaces the file (before and after name the keys)', () => {
    expect(aptPlan({ url: URL_ }, { files: { [asc]: b64('a.asc') }, source: { base64: b64('b.asc') } })).toMatchObject({ kind: 'change', diffs: [{ before: `key ${A}\n`, after: `key ${B}\n` }] });
  });

  it('id: present when any keyring apt trusts has it (captured trusted.gpg.d holds the Debian key); names the file; must match the key', () => {
    const raw = { url: URL_, id: '0x6891405A' };
    expect(aptKey.facts(aptKey.schema.parse(raw), ctx).files.args).toEqual({ paths: [`${DIR}/6891405A.asc`, `${DIR}/6891405A.gpg`], aptTrusted: true });
    expect(aptPlan(raw, { files: { '/etc/apt/trusted.gpg': b64('a-and-b.asc') }, source: { base64: b64('a.asc') } })).toEqual({ kind: 'ok', reason: 'key 6891405A is in /etc/apt/trusted.gpg' });
    const debian = Object.fromEntries(Object.entries(parseKeyFiles(captured('key-files-debian12.txt'))).filter(([p]) => p !== `${DIR}/a.gpg`));
    expect(aptPlan(raw, { files: debian, source: { base64: b64('a.asc') } })).toMatchObject({ kind: 'change', summary: `add the key from ${URL_} to ${DIR}/6891405A.asc` });
    expect(() => aptPlan(raw, { files: debian, source: { base64: b64('b.asc') } })).toThrow(`the key from ${URL_} does not have id 6891405A (it has ${B})`);
    expect(aptPlan({ id: DEBIAN.slice(-16) }, { files: debian })).toMatchObject({ kind: 'ok' });
    expect(() => aptPlan({ id: A }, { files: debian })).toThrow(`key ${A} is in no keyring apt trusts, and there is no url, data or file to add it from`);
  });

  it('data and file: named by the key id and the file name; keyring: written there, its extension must fit the key', () => {
    expect(aptPlan({ data: fixture('a.asc').toString('utf8') }, { files: {} })).toMatchObject({ kind: 'change', summary: `add the key from data to ${DIR}/5C59B9EB6891405A.asc` });
    expect(aptPlan({ file: '/root/k.gpg' }, { files: {}, source: { '/root/k.gpg': b64('a.gpg') } })).toMatchObject({ kind: 'change', summary: `add the key from /root/k.gpg to ${DIR}/k.gpg` });
    expect(() => aptPlan({ file: '/root/k.gpg' }, { files: {}, source: {} })).toThrow('/root/k.gpg is not a file on the host');
    expect(aptPlan({ url: URL_, keyring: '/etc/apt/keyrings/x.asc' }, { files: {}, source: { base64: b64('a.asc') } })).toMatchObject({ kind: 'change', summary: `add the key from ${URL_} to /etc/apt/keyrings/x.asc` });
    expect(() => aptPlan({ url: URL_, keyring: '/etc/apt/keyrings/x.asc' }, { files: {}, source: { base64: b64('a.gpg') } })).toThrow(`apt reads /etc/apt/keyrings/x.asc by its extension, but the key from ${URL_} is binary: name it .gpg`);
  });

  it('absent: removes the managed file; a key with that id elsewhere, or other keys in keyring, fail naming them', () => {
    expect(aptPlan({ url: URL_, state: 'absent' }, { files: {} })).toEqual({ kind: 'ok', reason: `no ${asc} or ${gpg}` });
    expect(aptPlan({ url: URL_, state: 'absent' }, { files: { [gpg]: b64('a.gpg') } })).toMatchObject({ kind: 'change', steps: [{ command: `rm -f -- ${gpg}` }], predictions: [{ value: {} }] });
    expect(() => aptPlan({ id: '6891405A', state: 'absent' }, { files: { '/etc/apt/trusted.gpg': b64('a.gpg') } })).toThrow('key 6891405A is also in /etc/apt/trusted.gpg, which apt_key does not edit');
    expect(() => aptPlan({ id: '6891405A', keyring: '/k.asc', state: 'absent' }, { files: { '/k.asc': b64('a-and-b.asc') } })).toThrow(`/k.asc holds other keys besides 6891405A (${B}): not removed`);
  });

  it('arguments: keyserver refused with the way to do it; one source; a key id', () => {
    expect(invalid(aptKey.schema, { keyserver: 'keyserver.ubuntu.com', id: A })).toBe('keyserver: keyserver is not supported: give the key by url, e.g. url: https://keyserver.ubuntu.com/pks/lookup?op=get&search=0xKEYID');
    expect(invalid(aptKey.schema, { url: URL_, data: 'x' })).toBe('data: give only one of url, data, file (got url, data)');
    expect(invalid(aptKey.schema, { state: 'absent' })).toBe('url: give url, data or file (or id)');
    expect(invalid(aptKey.schema, { url: URL_, id: 'xyz' })).toMatch(/^id: a key id/);
    expect(() => aptKey.plan(aptKey.schema.parse({ url: URL_ }), { files: {}, source: { base64: '' } } as never, ctxOf(hostOf('rhel')))).toThrow("apt_key: this host's package manager is dnf, not apt");
  });
});

describe('rpm_key planner', () => {
  const RPM_URL = 'https://rpms.example.org/RPM-GPG-KEY-example';

  it('missing: each primary key imported on its own from the bytes judged; present by its short id; check predicts it', () => {
    const p = rpmPlan({ key: RPM_URL }, { installed: ['9a5ef725'], source: { base64: b64('a-and-b.asc') } });
    expect(p).toMatchObject({ kind: 'change', summary: `import ${A} from ${RPM_URL}`, diffs: [{ label: 'gpg-pubkey-6891405a', before: 'state: absent\n', after: `key ${A}\n` }] });
    if (p.kind !== 'change') return;
    expect(p.steps).toHaveLength(1);
    const [a] = parseKeyring(fixture('a.asc'), 'a').keys;
    expect(p.steps[0]?.command).toContain(`printf %s ${Buffer.from(armor(a as never)).toString('base64')} | base64 -d > "$t" || exit 1\nrpm --import "$t"`);
    expect(p.predictions?.[0]?.value).toEqual(['9a5ef725', '6891405a']);
    expect(rpmPlan({ key: RPM_URL }, { installed: ['9a5ef725', '6891405a'], source: { base64: b64('a-and-b.asc') } })).toEqual({ kind: 'ok', reason: `key ${A}, ${B} is imported (gpg-pubkey-6891405a, gpg-pubkey-9a5ef725)` });
    // rpm 6 names gpg-pubkey by the whole fingerprint
    expect(rpmPlan({ key: '/etc/pki/k.asc' }, { installed: [A.toLowerCase()], source: { '/etc/pki/k.asc': b64('a.asc') } })).toMatchObject({ kind: 'ok' });
  });

  it('absent: rpm -e --allmatches per imported key; by key id too', () => {
    expect(rpmPlan({ key: RPM_URL, state: 'absent' }, { installed: ['6891405a'], source: { base64: b64('a-and-b.asc') } })).toMatchObject({ kind: 'change', steps: [{ command: 'rpm -e --allmatches gpg-pubkey-6891405a' }], predictions: [{ value: [] }] });
    expect(rpmPlan({ key: '0x6891405A', state: 'absent' }, { installed: ['6891405a'] })).toMatchObject({ kind: 'change', summary: 'remove gpg-pubkey 6891405a' });
    expect(rpmPlan({ key: '6891405A', state: 'absent' }, { installed: [] })).toEqual({ kind: 'ok', reason: 'key 6891405A is not imported' });
    expect(rpmPlan({ key: '6891405A' }, { installed: ['6891405a'] })).toMatchObject({ kind: 'ok' });
    expect(() => rpmPlan({ key: '6891405A' }, { installed: [] })).toThrow('key 6891405A is not imported, and a key id alone cannot import it: give its URL or file');
  });

  it('fingerprint must be the key (or a subkey), else nothing is imported; no rpm fails', () => {
    expect(rpmPlan({ key: RPM_URL, fingerprint: '3568 377D 0190 11F6 7CF2  E6E4 5C59 B9EB 6891 405A' }, { installed: [], source: { base64: b64('a.asc') } })).toMatchObject({ kind: 'change' });
    expect(() => rpmPlan({ key: RPM_URL, fingerprint: [B] }, { installed: [], source: { base64: b64('a.asc') } })).toThrow(`the key from ${RPM_URL} does not have fingerprint ${B} (it has ${A})`);
    expect(() => rpmPlan({ key: RPM_URL }, { installed: null, source: { base64: b64('a.asc') } })).toThrow('rpm_key: this host has no rpm command');
    expect(invalid(rpmKey.schema, { key: 'epel.asc' })).toBe('key: a URL, an absolute path on the host, or a key id (8, 16 or 40 hex digits)');
    expect(invalid(rpmKey.schema, { key: RPM_URL, fingerprint: 'abc' })).toBe('fingerprint: a 40 hex digit fingerprint (spaces allowed)');
  });
});
