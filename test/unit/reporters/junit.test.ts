import { readFileSync } from 'node:fs';
import { validateXML } from 'xmllint-wasm';
import { describe, expect, it } from 'vitest';
import { junitReport, splitLocation, xmlEscape } from '../../../src/reporters/junit.js';
import { fleetRun, mixedRun, NASTY, result, summary } from './_summary.js';

const XSD = readFileSync(new URL('../../fixtures/junit/junit-10.xsd', import.meta.url), 'utf8');
const META = { playbooks: ['playbooks/harden.yaml'], inventory: ['inventory.yaml'] };

async function expectValid(xml: string) {
  const v = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [{ fileName: 'junit-10.xsd', contents: XSD }] });
  expect(v.errors.map((e) => e.message)).toEqual([]);
  expect(v.valid).toBe(true);
}

describe('junit report', () => {
  it('is valid against the Jenkins junit-10 XSD, hostile strings included', async () => {
    await expectValid(junitReport(mixedRun(true), META));
    await expectValid(junitReport(mixedRun(false), META));
    await expectValid(junitReport(summary([]), META));
  });

  it('the XSD check does reject malformed or off-schema XML (the validator is not a no-op)', async () => {
    const bad = await validateXML({ xml: [{ fileName: 'r.xml', contents: '<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>' }], schema: [{ fileName: 'junit-10.xsd', contents: XSD }] });
    expect(bad.valid).toBe(false);
  });

  it('one testsuite per host, one testcase per host × task, with file/line', () => {
    const xml = junitReport(mixedRun(true), META);
    expect(xml.match(/<testsuite /g)).toHaveLength(4);
    expect(xml).toContain('<testsuite name="web1" tests="5" failures="2" errors="0" skipped="1"');
    expect(xml).toContain('<testcase classname="web1" name="sshd hardening" time="0.012" file="playbooks/harden.yaml" line="20">');
    expect(xml).toContain('name="handler: reload sshd"');
  });

  it('drift (check mode) is a failure with the diff; in apply mode a change passes', () => {
    const check = junitReport(mixedRun(true), META);
    expect(check).toMatch(/<failure type="drift" message="drift: would set PermitRootLogin no">drift: would set PermitRootLogin no\n\n--- \/etc\/ssh\/sshd_config \(before\)[\s\S]*-PermitRootLogin yes\n\+PermitRootLogin no/);
    const apply = junitReport(mixedRun(false), META);
    expect(apply).not.toContain('type="drift"');
    expect(apply).toContain('<system-out>changed: would set PermitRootLogin no');
    expect(apply).toContain('<testsuite name="web1" tests="5" failures="0"');
  });

  it('failures carry message, location, code and stderr; ignored failures pass; skipped is <skipped/>', () => {
    const xml = junitReport(mixedRun(true), META);
    expect(xml).toContain('<failure type="E_COMMAND" message="exit 1: &lt;script&gt;');
    expect(xml).toContain('at playbooks/harden.yaml:25 (E_COMMAND)');
    expect(xml).toContain('<system-out>failed (ignored): exit 2: ignored');
    expect(xml).toContain('<skipped message="condition is false (when)"/>');
  });

  it('an unreachable host is one failed testcase', () => {
    const xml = junitReport(mixedRun(true), META);
    expect(xml).toContain('<testsuite name="db2.example.com" tests="1" failures="1"');
    expect(xml).toContain('<failure type="unreachable" message="connect ECONNREFUSED 10.0.0.9:22">');
  });

  it('escapes markup and drops characters XML cannot carry', () => {
    const xml = junitReport(summary([result({ host: 'h', task: NASTY, status: 'ok' })]), META);
    expect(xml).not.toContain('<script>');
    expect(xml).not.toContain('\u0001');
    expect(xmlEscape('a<b>&"\'\u0000')).toBe('a&lt;b&gt;&amp;&quot;&apos;\uFFFD');
  });

  it('totals on <testsuites> add up for a 200-host fleet', async () => {
    const s = fleetRun(200, 14);
    const xml = junitReport(s, { ...META, shard: { index: 2, count: 4 } });
    const tests = s.results.length + s.hosts.filter((h) => h.unreachable).length;
    expect(xml).toMatch(new RegExp(`<testsuites name="provision check: playbooks/harden.yaml \\(shard 2/4\\)" tests="${tests}"`));
    await expectValid(xml);
  });

  it('splitLocation', () => {
    expect(splitLocation('a/b.yaml:12')).toEqual({ file: 'a/b.yaml', line: 12 });
    expect(splitLocation('c:/x.yaml')).toEqual({ file: 'c:/x.yaml' });
  });
});
