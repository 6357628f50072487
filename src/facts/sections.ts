/**
 * Facts whose command prints several outputs one after the other mark each
 * with a `__name` line (`echo __status; ufw status`): the lines of each, by
 * name. A marker printed with nothing after it (`echo __absent`) is a section
 * with no lines, so `has` tells that it was printed.
 */
export function outputSections(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const m = /^__(\w+)$/.exec(line);
    if (m) out.set(m[1] as string, (cur = []));
    else cur?.push(line);
  }
  return out;
}
