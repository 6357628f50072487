import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quote, sh } from '../../../src/contract/quote.js';

const echo = (cmd: string) => execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });

describe('quote', () => {
  it('leaves plain words alone and quotes everything else', () => {
    expect(quote('/etc/ssh/sshd_config')).toBe('/etc/ssh/sshd_config');
    expect(quote('')).toBe("''");
    expect(quote('a b')).toBe("'a b'");
    expect(quote("it's")).toBe(`'it'\\''s'`);
    expect(quote(22)).toBe('22');
  });

  it('rejects NUL, which no shell argument can hold', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });

  it('makes any string one literal word for a real shell', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')), (s) => {
        expect(echo(`printf '%s' ${quote(s)}`)).toBe(s);
      }),
      { numRuns: 200 },
    );
  });
});

describe('sh template', () => {
  it('quotes interpolations and splats arrays', () => {
    expect(sh`useradd -G ${['sudo', 'a b']} ${'x;y'}`).toBe(`useradd -G sudo 'a b' 'x;y'`);
  });
});
