/**
 * The HTML report in a real headless browser (Debian's chromium driven by
 * playwright-core, no browser download): a synthetic 200-host check run,
 * opened from file://, filtered, a drift cell opened, screenshot saved to
 * test-results/html-report.png.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlReport } from '../../src/reporters/html.js';
import { fleetRun } from '../unit/reporters/_summary.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`html-report e2e skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

describe.skipIf(!haveChromium)('html report in headless chromium', () => {
  let browser: Browser;
  let url: string;
  const errors: string[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, htmlReport(fleetRun(200, 14, true), { playbooks: ['playbooks/harden.yaml'], inventory: ['inventories/fleet.yaml'] }));
    url = pathToFileURL(file).href;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders the matrix, filters hosts, opens a drift diff; screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(url);

    const rows = page.locator('#matrix tbody tr');
    await expect.poll(() => rows.count()).toBe(200);
    expect(await page.locator('#matrix thead th.col').count()).toBe(14);
    expect(await page.locator('#count').textContent()).toBe('showing 200 of 200 hosts');

    // host filter: only db hosts of dc2
    await page.fill('#f-host', 'db-');
    await expect.poll(() => page.locator('#matrix tbody tr:not(.hidden)').count()).toBe(50);
    await page.fill('#f-host', 'db-002');
    expect(await page.locator('#matrix tbody tr:not(.hidden)').count()).toBe(1);
    await page.fill('#f-host', '');

    // status filter: only failed → the hosts with a failure
    for (const st of ['ok', 'drift', 'skipped', 'unreachable']) await page.uncheck(`input[data-status="${st}"]`);
    const failedHosts = await page.locator('#matrix tbody tr:not(.hidden)').count();
    expect(failedHosts).toBeGreaterThan(0);
    expect(failedHosts).toBeLessThan(10);
    for (const st of ['ok', 'drift', 'skipped', 'unreachable']) await page.check(`input[data-status="${st}"]`);

    // task filter hides columns
    await page.fill('#f-task', 'sshd');
    expect(await page.locator('#matrix thead th.col:visible').count()).toBe(2);
    await page.fill('#f-task', '');

    // a drift cell opens its diff
    const drift = page.locator('#matrix td.s-drift').first();
    await drift.scrollIntoViewIfNeeded();
    await drift.click();
    await expect.poll(() => page.locator('#detail').isVisible()).toBe(true);
    const diff = page.locator('#detail pre.diff').first();
    expect(await diff.textContent()).toMatch(/-setting_\d+ = old\n\+setting_\d+ = new/);
    expect(await page.locator('#detail pre.diff .add').count()).toBeGreaterThan(0);

    // sticky headers: after scrolling down, the header row stays at the top of the scroller
    await page.locator('.wrap').evaluate((el) => (el.scrollTop = 2000));
    const headTop = await page.locator('#matrix thead th.corner').evaluate((el) => el.getBoundingClientRect().top);
    const wrapTop = await page.locator('.wrap').evaluate((el) => el.getBoundingClientRect().top);
    expect(Math.abs(headTop - wrapTop)).toBeLessThan(2);
    await page.locator('.wrap').evaluate((el) => (el.scrollTop = 0));

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/html-report.png' });
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('untrusted strings stay text', async () => {
    const { mixedRun } = await import('../unit/reporters/_summary.js');
    const dir = mkdtempSync(join(tmpdir(), 'provision-html-'));
    const file = join(dir, 'nasty.html');
    writeFileSync(file, htmlReport(mixedRun(true), { playbooks: [], inventory: [] }));
    const page = await browser.newPage();
    let dialogs = 0;
    page.on('dialog', async (d) => {
      dialogs++;
      await d.dismiss();
    });
    await page.goto(pathToFileURL(file).href);
    await page.locator('#matrix td.s-failed').first().click();
    expect(await page.locator('#detail-title').textContent()).toContain('<script>alert("x")</script>');
    expect(await page.locator('script').count()).toBe(2);
    expect(dialogs).toBe(0);
    await page.close();
  });
});
