/**
 * A real terminal for tests: a tmux server of our own (its own socket, no
 * user config), one window of a fixed size running a plain shell. Tests type
 * into it and read the screen as a person would see it.
 *
 *   const term = await Terminal.start({ columns: 100, rows: 40 });
 *   await term.type(`node dist/cli/launcher.cjs --check -i localhost, site.yaml; echo "EXIT=$?"`);
 *   const screen = await term.waitFor(/EXIT=\d+/);
 *   await term.stop();
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** tmux is installed (CI installs it: .ci/run). */
export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export class Terminal {
  private constructor(private readonly socket: string) {}

  static async start(o: { columns: number; rows: number; cwd?: string; env?: Record<string, string> }): Promise<Terminal> {
    const socket = `provision-test-${randomBytes(4).toString('hex')}`;
    const env = { LANG: 'C.UTF-8', TERM: 'xterm-256color', ...o.env };
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    await execFileP('tmux', ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'main', '-x', String(o.columns), '-y', String(o.rows), ...(o.cwd ? ['-c', o.cwd] : []), ...envArgs, 'bash --norc --noprofile']);
    const t = new Terminal(socket);
    // the prompt, so typed text is not lost to a shell still starting
    await t.waitFor(/[$#] *$/m, 10_000);
    return t;
  }

  private tmux(...args: string[]): Promise<{ stdout: string }> {
    return execFileP('tmux', ['-L', this.socket, ...args]);
  }

  /** Type a line and press Enter. */
  async type(line: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', '-l', line);
    await this.tmux('send-keys', '-t', 'main', 'Enter');
  }

  /**
   * The visible screen, one string per row, trailing blanks removed; `joined`:
   * rows the terminal wrapped are joined into the line that was printed.
   */
  async screen(o: { joined?: boolean } = {}): Promise<string> {
    const { stdout } = await this.tmux('capture-pane', '-p', ...(o.joined ? ['-J'] : []), '-t', 'main');
    return stdout.replace(/[ \t]+$/gm, '').replace(/\n+$/, '\n');
  }

  /** Poll the screen until `re` matches; the screen at that moment. */
  async waitFor(re: RegExp, timeoutMs = 60_000, o: { joined?: boolean } = {}): Promise<string> {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      last = await this.screen(o);
      if (re.test(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`screen never showed ${re} in ${timeoutMs} ms; last screen:\n${last}`);
  }

  /** Stop our tmux server (only ours: its own socket) and remove its socket file. */
  async stop(): Promise<void> {
    const path = await this.tmux('display-message', '-p', '#{socket_path}').then((r) => r.stdout.trim(), () => '');
    await this.tmux('kill-server').catch(() => undefined);
    if (path) await rm(path, { force: true });
  }
}
