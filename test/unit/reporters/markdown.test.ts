import { describe, expect, it } from 'vitest';
import { markdownReport } from '../../../src/reporters/markdown.js';
import { fleetRun, mixedRun, NASTY, result, summary } from './_summary.js';

const META = { playbooks: ['playbooks/harden.yaml'], inventory: ['inventory.yaml'] };

describe('markdown report', () => {
  it('verdict, host table, drift table, failures, diffs folded', () => {
    const md = markdownReport(mixedRun(true), META);
    expect(md.split('\n')[0]).toBe('## ❌ provision check (audit)');
    expect(md).toContain('**1 host failed, 1 unreachable, 1 host drifted · 4 hosts in 4.3 s · exit 2**');
    expect(md).toContain('| host | ok | drift | failed | skipped | unreachable |');
    expect(md).toContain('| web1 | 2 | 2 | 0 | 1 | no |');
    expect(md).toContain('| db1 | 0 | 0 | 0 (+1 ignored) | 1 | no |');
    expect(md).toContain('| db2.example.com | 0 | 0 | 0 | 0 | **yes** — connect ECONNREFUSED 10.0.0.9:22 |');
    expect(md).toContain('### Drift (2)');
    expect(md).toContain('| web1 | sshd hardening | would set PermitRootLogin no | playbooks/harden.yaml:20 |');
    expect(md).toContain('<details><summary>diff: /etc/ssh/sshd_config</summary>');
    expect(md).toContain('```diff\n--- /etc/ssh/sshd_config (before)');
    expect(md).toContain('### Failures (1)');
    expect(md).toContain('### Unreachable (1)');
  });

  it('clean check run: green verdict, no drift section', () => {
    const md = markdownReport(summary([result({ host: 'a', task: 't', status: 'ok' })], { check: true }), META);
    expect(md).toMatch(/^## ✅/);
    expect(md).toContain('no drift');
    expect(md).not.toContain('### Drift');
  });

  it('escapes HTML and table syntax in untrusted strings', () => {
    const md = markdownReport(mixedRun(true), META);
    // raw text only inside fenced code blocks (stderr), which Markdown never renders as HTML
    expect(md.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '')).not.toContain('<script>');
    expect(md).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; \\]\\]&gt; \' \\| \\`code\\`');
    // every table row still has its 4 columns despite the pipe in the task name
    const row = md.split('\n').find((l) => l.startsWith('| web2 | &lt;script'))!;
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(4);
  });

  it('a diff containing ``` cannot close its fence', () => {
    const s = summary([result({ host: 'a', task: 't', status: 'changed', diffs: [{ label: 'f', before: 'x\n', after: '```\n<b>y</b>\n' }] })], { check: true });
    const md = markdownReport(s, META);
    expect(md).toContain('````diff');
    expect(md).not.toContain('<b>y</b>\n```\n\n</details>');
  });

  it('with 200 hosts, clean hosts are folded and noisy ones listed first', () => {
    const md = markdownReport(fleetRun(200, 14), META);
    expect(md).toMatch(/<details><summary>\d+ hosts? with nothing to report<\/summary>/);
    expect(md.length).toBeLessThan(1024 * 1024);
  });

  it(`NASTY fixture is hostile (${NASTY.length} chars)`, () => expect(NASTY).toContain('<script>'));
});
