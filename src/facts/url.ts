/**
 * Downloads on the host: the command that prints a URL's body on stdout with
 * curl or wget, whichever the host has (and says so when it has neither), and
 * a fact with the sha256 and size of what the URL serves now (downloaded to a
 * temporary file that is removed again), for `get_url` with `force`.
 */
import { FactError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export interface Download {
  readonly url: string;
  /** Header name → value. */
  readonly headers: Readonly<Record<string, string>>;
  /** Seconds to connect, and seconds without any data before giving up (as a socket timeout). */
  readonly timeout: number;
  readonly validateCerts: boolean;
  /** User-Agent. */
  readonly agent: string;
}

/** Exit code of the download command when the host has neither curl nor wget. */
export const NO_DOWNLOADER = 3;

/**
 * One compound command printing the body on stdout; any HTTP error status,
 * refused connection or timeout exits non-zero with the tool's message on
 * stderr. Redirects are followed.
 */
export function downloadCommand(d: Download): string {
  const headers = Object.entries(d.headers);
  const curl = [
    'curl -fsSL',
    `--connect-timeout ${d.timeout} --speed-time ${d.timeout} --speed-limit 1`,
    ...(d.validateCerts ? [] : ['-k']),
    `-A ${quote(d.agent)}`,
    ...headers.map(([k, v]) => `-H ${quote(`${k}: ${v}`)}`),
    `-- ${quote(d.url)}`,
  ].join(' ');
  const wget = [
    'wget -nv -O -',
    `-T ${d.timeout}`,
    ...(d.validateCerts ? [] : ['--no-check-certificate']),
    `-U ${quote(d.agent)}`,
    ...headers.map(([k, v]) => `--header=${quote(`${k}: ${v}`)}`),
    `-- ${quote(d.url)}`,
  ].join(' ');
  return `{ if command -v curl >/dev/null 2>&1; then ${curl}; elif command -v wget >/dev/null 2>&1; then ${wget}; else echo 'cannot download: the host has neither curl nor wget' >&2; exit ${NO_DOWNLOADER}; fi; }`;
}

export interface UrlDigest {
  readonly sha256: string;
  readonly size: number;
}

function script(d: Download): string {
  return [
    `t=$(mktemp) && e=$(mktemp) || exit 1`,
    `trap 'rm -f "$t" "$e"' EXIT`,
    `if ${downloadCommand(d)} > "$t" 2>"$e"; then`,
    `  printf 'sha256=%s\\nsize=%s\\n' "$(sha256sum < "$t" | cut -d' ' -f1)" "$(wc -c < "$t")"`,
    'else',
    `  rc=$?; printf 'failed=%s\\n' "$rc"; printf 'error=%s\\n' "$(tail -n 1 "$e" | tr -d '\\r')"`,
    'fi',
  ].join('\n');
}

/** Pure parser of the fact command's output. */
export function parseUrlDigest(stdout: string, d: Download, exitCode = 0): UrlDigest {
  const get = (k: string): string | undefined => stdout.split('\n').find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
  const failed = get('failed');
  if (failed !== undefined) throw new FactError('url', `cannot download ${d.url}: ${get('error') || `exit ${failed}`}`);
  const sha256 = get('sha256');
  const size = Number(get('size'));
  if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256) || !Number.isInteger(size)) {
    throw new FactError('url', `${d.url}: unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  return { sha256, size };
}

export const urlDigestFact: Fact<Download, UrlDigest> = {
  name: 'url',
  command: script,
  parse: (stdout, args, exitCode) => parseUrlDigest(stdout, args, exitCode),
};

export const urlDigest = (d: Download): FactRequest<UrlDigest> => req(urlDigestFact, d);
