/**
 * Downloads on the host: the command that prints a URL's body on stdout with
 * curl or wget, whichever the host has (and says so when it has neither), and
 * facts of what the URL serves now (downloaded to a temporary file that is
 * removed again): its sha256 and size, for `get_url` with `force`; the body
 * itself (base64, up to 1 MiB), for the keys of `apt_key` and `rpm_key`.
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

/** Download into "$t", then run `report` (lines reading "$t"), or print why the download failed. */
function script(d: Download, report: readonly string[]): string {
  return [
    `t=$(mktemp) && e=$(mktemp) || exit 1`,
    `trap 'rm -f "$t" "$e"' EXIT`,
    `if ${downloadCommand(d)} > "$t" 2>"$e"; then`,
    ...report.map((l) => `  ${l}`),
    'else',
    `  rc=$?; printf 'failed=%s\\n' "$rc"; printf 'error=%s\\n' "$(tail -n 1 "$e" | tr -d '\\r')"`,
    'fi',
  ].join('\n');
}

/** The `key=value` reader of a download script's output; throws the download's error when it failed. */
function downloaded(stdout: string, d: Download, fact: string): (k: string) => string | undefined {
  const get = (k: string): string | undefined => stdout.split('\n').find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
  const failed = get('failed');
  if (failed !== undefined) throw new FactError(fact, `cannot download ${d.url}: ${get('error') || `exit ${failed}`}`);
  return get;
}

/** Pure parser of the fact command's output. */
export function parseUrlDigest(stdout: string, d: Download, exitCode = 0): UrlDigest {
  const get = downloaded(stdout, d, 'url');
  const sha256 = get('sha256');
  const size = Number(get('size'));
  if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256) || !Number.isInteger(size)) {
    throw new FactError('url', `${d.url}: unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  return { sha256, size };
}

export const urlDigestFact: Fact<Download, UrlDigest> = {
  name: 'url',
  command: (d) => script(d, [`printf 'sha256=%s\\nsize=%s\\n' "$(sha256sum < "$t" | cut -d' ' -f1)" "$(wc -c < "$t")"`]),
  parse: (stdout, args, exitCode) => parseUrlDigest(stdout, args, exitCode),
};

export const urlDigest = (d: Download): FactRequest<UrlDigest> => req(urlDigestFact, d);

/** Largest body `urlBody` reads (bytes): a key, not a release archive. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What a URL serves, base64. */
export interface UrlBody {
  readonly base64: string;
}

/** Pure parser of the body fact's output. */
export function parseUrlBody(stdout: string, d: Download, exitCode = 0): UrlBody {
  const get = downloaded(stdout, d, 'url_body');
  const size = Number(get('size'));
  if (size > MAX_BODY_BYTES) throw new FactError('url_body', `${d.url} serves ${size} bytes, more than the ${MAX_BODY_BYTES} a key may have`);
  if (!Number.isInteger(size) || get('body') === undefined) throw new FactError('url_body', `${d.url}: unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const base64 = get('body') as string;
  if (Buffer.from(base64, 'base64').length !== size) throw new FactError('url_body', `${d.url}: the body was cut in transit (${size} bytes served)`);
  return { base64 };
}

export const urlBodyFact: Fact<Download, UrlBody> = {
  name: 'url_body',
  command: (d) => script(d, [`s=$(wc -c < "$t"); echo "size=$s"`, `if [ "$s" -le ${MAX_BODY_BYTES} ]; then printf 'body='; base64 < "$t" | tr -d '\\n'; echo; fi`]),
  parse: (stdout, args, exitCode) => parseUrlBody(stdout, args, exitCode),
};

export const urlBody = (d: Download): FactRequest<UrlBody> => req(urlBodyFact, d);

/** A URL the host can download: http, https or ftp, without spaces. */
export const DOWNLOAD_URL = /^(https?|ftp):\/\/[^\s]+$/i;

/** The body of a key at `url` (apt_key, rpm_key), fetched as Ansible's modules fetch it: 10 s timeout, its user agent. */
export const keyBody = (url: string, validateCerts: boolean): FactRequest<UrlBody> => urlBody({ url, headers: {}, timeout: 10, validateCerts, agent: 'ansible-httpget' });
