import { readFileSync } from 'node:fs';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { sarifReport } from '../../../src/reporters/sarif.js';
import { fleetRun, mixedRun, summary } from './_summary.js';

const schema = JSON.parse(readFileSync(new URL('../../fixtures/sarif/sarif-schema-2.1.0.json', import.meta.url), 'utf8'));
// CommonJS packages: under NodeNext the default import is module.exports, whose .default is the export
type AjvCtor = typeof AjvDraft04.default;
type AddFormats = typeof ajvFormats.default;
const Ajv: AjvCtor = (AjvDraft04 as unknown as { default?: AjvCtor }).default ?? (AjvDraft04 as unknown as AjvCtor);
const addFormats: AddFormats = (ajvFormats as unknown as { default?: AddFormats }).default ?? (ajvFormats as unknown as AddFormats);
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }) // the schema's language pattern is not valid with the u flag;
addFormats(ajv);
const validate = ajv.compile(schema);
const META = { playbooks: ['playbooks/harden.yaml'], inventory: ['inventory.yaml'] };

function expectValid(text: string) {
  const doc = JSON.parse(text);
  const ok = validate(doc);
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
  return doc;
}

describe('sarif report', () => {
  it('validates against the SARIF 2.1.0 schema (check, apply, empty, 200 hosts)', () => {
    expectValid(sarifReport(mixedRun(true), META));
    expectValid(sarifReport(mixedRun(false), META));
    expectValid(sarifReport(summary([]), { playbooks: [], inventory: [] }));
    expectValid(sarifReport(fleetRun(200, 14), { ...META, shard: { index: 1, count: 3 } }));
  });

  it('the schema check rejects an off-schema log (not a no-op)', () => {
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
    expect(validate({ version: '2.0.0', runs: [] })).toBe(false);
  });

  it('one rule per task (loop items share it), one result per drift/failure, levels error/warning', () => {
    const doc = expectValid(sarifReport(mixedRun(true), META));
    const run = doc.runs[0];
    const ids = run.tool.driver.rules.map((r: { id: string }) => r.id);
    expect(ids).toEqual(['sshd_config/sshd hardening', 'package/packages', expect.stringMatching(/^command\/<script>/), 'provision/unreachable']);
    const lv = run.results.map((r: { ruleId: string; level: string; properties: { host: string } }) => `${r.properties.host} ${r.level} ${r.ruleId.slice(0, 20)}`);
    expect(lv).toEqual(['web1 warning sshd_config/sshd har', 'web1 warning package/packages', expect.stringMatching(/^web2 error command\/<script>/), 'db2.example.com error provision/unreachabl']);
  });

  it('locations: playbook file/line and the host as logical location; diffs in the message', () => {
    const doc = expectValid(sarifReport(mixedRun(true), META));
    const r = doc.runs[0].results[0];
    expect(r.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'playbooks/harden.yaml' }, region: { startLine: 20 } });
    expect(r.locations[0].logicalLocations[0]).toMatchObject({ name: 'web1', kind: 'resource' });
    expect(r.message.text).toContain('+PermitRootLogin no');
    expect(r.partialFingerprints['provisionHostTask/v1']).toContain('web1');
  });

  it('apply mode: changes are not results, failures are; ignored failures are not', () => {
    const doc = expectValid(sarifReport(mixedRun(false), META));
    expect(doc.runs[0].results.map((r: { level: string }) => r.level)).toEqual(['error', 'error']);
    expect(doc.runs[0].invocations[0]).toMatchObject({ exitCode: 2, executionSuccessful: true });
  });

  it('paths with spaces become valid URI references', () => {
    const s = mixedRun(true);
    s.results[1]!.location = 'my books/site #1.yaml:7';
    const doc = expectValid(sarifReport(s, META));
    expect(doc.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toBe('my%20books/site%20%231.yaml');
  });
});
