/**
 * isHostname answers plain ASCII names with an ASCII pattern, to spare every run
 * the compile of Ansible's Unicode, case-folding one: both must agree on every
 * text the fast path takes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOSTNAME_RE, expandHostPattern, isHostname } from '../../../src/core/inventory-model.js';

describe('isHostname', () => {
  it('agrees with the Unicode pattern on any ASCII text', () => {
    const chars = fc.constantFrom(...'abcXYZ019_-.:[] @/é\u212Ak'.split(''));
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 24 }).map((a) => a.join('')), (s) => {
        expect(isHostname(s), JSON.stringify(s)).toBe(HOSTNAME_RE.test(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('takes the names inventories use, and refuses what Ansible refuses', () => {
    for (const ok of ['web1', 'db-01.example.com', 'debian12-1', 'a_b', 'x', 'Web1.EXAMPLE.com', 'köln.example', 'web[01:03]']) expect(isHostname(ok), ok).toBe(true);
    for (const bad of ['-web', 'web-', 'web_', 'a..b', '.a', 'a.', '', 'a b', 'a/b']) expect(isHostname(bad), bad).toBe(false);
  });

  it('host patterns still split into name and port', () => {
    expect(expandHostPattern('web1.example.com:2222')).toEqual({ names: ['web1.example.com'], port: 2222 });
    expect(expandHostPattern('[::1]:22')).toEqual({ names: ['::1'], port: 22 });
    expect(expandHostPattern('10.0.0.1')).toEqual({ names: ['10.0.0.1'] });
    expect(expandHostPattern('db-[a:c]')).toEqual({ names: ['db-a', 'db-b', 'db-c'] });
  });
});
