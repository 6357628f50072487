import { describe, expect, it } from 'vitest';
import { SUDO_PROMPT, sudoNoise, wrapBecome } from '../../../src/core/become.js';

const base = { become: true, user: 'root', connectedAs: 'deploy', noPassword: false };

describe('wrapBecome', () => {
  it('does nothing without become, or when already the target user', () => {
    expect(wrapBecome('id', { ...base, become: false })).toEqual({ command: 'id', stdinPrefix: '' });
    expect(wrapBecome('id', { ...base, connectedAs: 'root' })).toEqual({ command: 'id', stdinPrefix: '' });
  });

  it('uses non-interactive sudo when no password is needed or known', () => {
    expect(wrapBecome("echo 'hi'", { ...base, noPassword: true, password: 'ignored' })).toEqual({
      command: `sudo -n -u root -H -- /bin/sh -c 'echo '\\''hi'\\'''`,
      stdinPrefix: '',
    });
  });

  it('sends the password on stdin, never in the command line', () => {
    const w = wrapBecome('id', { ...base, password: "s3cr'et" });
    expect(w.command).toBe(`sudo -k -S -p '[provision: sudo password]' -u root -H -- /bin/sh -c id`);
    expect(w.command).not.toContain('s3cr');
    expect(w.stdinPrefix).toBe("s3cr'et\n");
  });

  it("drops sudo's own words (first-use lecture, prompt) from stderr, keeps the command's", () => {
    const lecture = '\nWe trust you have received the usual lecture from the local System\nAdministrator.\n\n';
    expect(sudoNoise(`${lecture}${SUDO_PROMPT}real error\n`)).toBe('real error\n');
    expect(sudoNoise('no prompt here\n')).toBe('no prompt here\n');
  });

  it('quotes the target user', () => {
    expect(wrapBecome('id', { ...base, user: 'post gres', noPassword: true }).command).toContain(`-u 'post gres'`);
  });
});
