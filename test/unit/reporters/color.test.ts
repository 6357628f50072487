/** docs/cli.md's colour rules: --no-color, NO_COLOR, FORCE_COLOR, and a terminal. */
import { describe, expect, it } from 'vitest';
import { colorWanted } from '../../../src/reporters/style.js';

describe('colorWanted', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it('colours a terminal, not a pipe', () => {
    expect(colorWanted(tty, {}, undefined)).toBe(true);
    expect(colorWanted(pipe, {}, undefined)).toBe(false);
  });
  it('--no-color and a non-empty NO_COLOR switch colours off, even with FORCE_COLOR', () => {
    expect(colorWanted(tty, { FORCE_COLOR: '1' }, false)).toBe(false);
    expect(colorWanted(tty, { NO_COLOR: '1', FORCE_COLOR: '1' }, undefined)).toBe(false);
    expect(colorWanted(tty, { NO_COLOR: '' }, undefined)).toBe(true);
  });
  it('FORCE_COLOR colours a pipe; FORCE_COLOR=0 does not', () => {
    expect(colorWanted(pipe, { FORCE_COLOR: '1' }, undefined)).toBe(true);
    expect(colorWanted(pipe, { FORCE_COLOR: '0' }, undefined)).toBe(false);
  });
});
