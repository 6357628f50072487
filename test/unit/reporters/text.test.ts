import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayWidth, escapeControls, fitWidth, hostList, padEnd } from '../../../src/reporters/text.js';

describe('escapeControls', () => {
  it('shows line breaks, escape sequences, bidi overrides and other controls as text', () => {
    expect(escapeControls('a\nb\r\tc')).toBe('a\\nb\\r\\tc');
    expect(escapeControls('\x1b[2J\x1b[Hforged')).toBe('\\e[2J\\e[Hforged');
    expect(escapeControls('abc\u202Efed.exe')).toBe('abc\\u202efed.exe');
    expect(escapeControls('\u2066\u2067\u2068\u2069\u200e\u200f\u061c')).toBe('\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c');
    expect(escapeControls('bell\x07 del\x7f nul\0')).toBe('bell\\x07 del\\x7f nul\\x00');
    expect(escapeControls('c1 \u0085 \u009b2J')).toBe('c1 \\u0085 \\u009b2J');
    expect(escapeControls('line\u2028sep')).toBe('line\\u2028sep');
    expect(escapeControls('lone \ud800 surrogate')).toBe('lone \\ud800 surrogate');
  });

  it('leaves printable text alone: accents, CJK, emoji with modifiers, flags, ZWJ sequences', () => {
    for (const s of ['plain ascii ~!@#$%^&*()', 'café', '日本語のタスク', '👍🏽 🇯🇵 👩‍💻', 'back\\slash']) expect(escapeControls(s)).toBe(s);
  });

  it('no output ever holds a control character, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(escapeControls(s)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f]/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('terminal widths', () => {
  it('counts columns as a terminal shows them', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本語')).toBe(6);
    expect(displayWidth('한국어')).toBe(6);
    expect(displayWidth('ｆｕｌｌ')).toBe(8);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('👍🏽')).toBe(2);
    expect(displayWidth('🇯🇵')).toBe(2);
    expect(displayWidth('👩‍💻')).toBe(2);
    expect(displayWidth('\x1b[33mdrift\x1b[39m')).toBe(5);
  });

  it('cuts at a grapheme, never inside a wide character, an emoji or an escape sequence', () => {
    expect(fitWidth('short', 10)).toBe('short');
    expect(fitWidth('abcdefghij', 5)).toBe('abcd…');
    // 日 is two columns: "日本…" would be 5, one too many for 4
    expect(fitWidth('日本語です', 4)).toBe('日…');
    expect(fitWidth('日本語です', 5)).toBe('日本…');
    expect(fitWidth('ok 👍🏽👍🏽', 5)).toBe('ok …');
    expect(fitWidth('ok 🇯🇵🇯🇵', 6)).toBe('ok 🇯🇵…');
    expect(fitWidth('cafe\u0301 au lait', 5)).toBe('cafe\u0301…');
    // colour codes are kept whole and take no room; a cut coloured text is reset
    expect(fitWidth('\x1b[33mdrift\x1b[39m localhost', 6)).toBe('\x1b[33mdrift\x1b[39m…\x1b[0m');
    expect(fitWidth('\x1b[33mdrifting\x1b[39m', 4)).toBe('\x1b[33mdri…\x1b[0m');
  });

  it('for any text and width: fits, is a prefix at a grapheme boundary, holds no broken character', () => {
    const piece = fc.constantFrom('a', 'Z', ' ', '日', '語', '한', '👍🏽', '🇯🇵', 'e\u0301', '👩‍💻', '\x1b[31m', '\x1b[0m', '…', 'ｆ');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 1, max: 30 }), (pieces, width) => {
        const s = pieces.join('');
        const out = fitWidth(s, width);
        expect(displayWidth(out)).toBeLessThanOrEqual(width);
        expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
        if (out !== s) {
          const kept = out.replace(/…(\x1b\[0m)?$/, '');
          expect(s.startsWith(kept)).toBe(true);
          // the cut falls between two pieces (each piece is whole graphemes or one escape sequence)
          let at = 0;
          const bounds = new Set([0, ...pieces.map((p) => (at += p.length))]);
          expect(bounds.has(kept.length)).toBe(true);
        }
      }),
    );
  });

  it('pads by columns', () => {
    expect(padEnd('日本', 6)).toBe('日本  ');
    expect(padEnd('abc', 2)).toBe('abc');
  });
});

describe('hostList', () => {
  const hosts = Array.from({ length: 37 }, (_, i) => `web${i + 1}`);
  it('one host, a few, many (cut by the budget), all of them', () => {
    expect(hostList(['web1'])).toBe('web1');
    expect(hostList(['web3', 'web9'])).toBe('web3, web9 (2 hosts)');
    expect(hostList(hosts, { budget: 30 })).toBe('web1, web2, web3, … (37 hosts)');
    expect(hostList(hosts, { maxNames: 2 })).toBe('web1, web2, … (37 hosts)');
    expect(hostList(hosts, { total: 37 })).toBe('all 37 hosts');
    expect(hostList(['evil\nhost', 'b'])).toBe('evil\\nhost, b (2 hosts)');
  });
});
