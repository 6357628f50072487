import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../../src/core/inventory.js';
import { selectHosts, unmatchedPatterns } from '../../../src/core/patterns.js';

const inv = parseInventory(
  [
    'all:',
    '  hosts:',
    '    lb1:',
    '  children:',
    '    web:',
    '      hosts: { web1: , web2: , web3: }',
    '    db:',
    '      hosts: { db1: , db2: , db10: }',
    '    prod:',
    '      hosts: { web1: , db1: , lb1: }',
    '    staging:',
    '      hosts: { web2: , db2: }',
    '',
  ].join('\n'),
  'inv.yaml',
  { env: {} },
);

describe('selectHosts', () => {
  it('all and * select everything in inventory order', () => {
    const every = ['lb1', 'web1', 'web2', 'web3', 'db1', 'db2', 'db10'];
    expect(selectHosts('all', inv)).toEqual(every);
    expect(selectHosts('*', inv)).toEqual(every);
  });
  it('group and host names', () => {
    expect(selectHosts('web', inv)).toEqual(['web1', 'web2', 'web3']);
    expect(selectHosts('db2', inv)).toEqual(['db2']);
  });
  it('globs with * ? and [..]', () => {
    expect(selectHosts('web*', inv)).toEqual(['web1', 'web2', 'web3']);
    expect(selectHosts('db?', inv)).toEqual(['db1', 'db2']);
    expect(selectHosts('db[0-1]*', inv)).toEqual(['db1', 'db10']);
    expect(selectHosts('pro*', inv)).toEqual(['lb1', 'web1', 'db1']); // globs match group names too
  });
  it('regex with ~', () => {
    expect(selectHosts('~^db\\d$', inv)).toEqual(['db1', 'db2']);
  });
  it('union with : and ,', () => {
    expect(selectHosts('db2:web1', inv)).toEqual(['web1', 'db2']);
    expect(selectHosts('db2,web1', inv)).toEqual(['web1', 'db2']);
  });
  it('intersection with :&', () => {
    expect(selectHosts('web:&prod', inv)).toEqual(['web1']);
  });
  it('exclusion with :!', () => {
    expect(selectHosts('all:!prod', inv)).toEqual(['web2', 'web3', 'db2', 'db10']);
  });
  it('evaluates unions, then intersections, then exclusions, whatever the order', () => {
    // (web ∪ db) minus prod; (web ∪ db) ∩ staging minus db2
    expect(selectHosts('!prod:web:db', inv)).toEqual(['web2', 'web3', 'db2', 'db10']);
    expect(selectHosts('&staging:web:!db2:db', inv)).toEqual(['web2']);
  });
  it('only & / ! parts start from all', () => {
    expect(selectHosts('!web', inv)).toEqual(['lb1', 'db1', 'db2', 'db10']);
    expect(selectHosts('&prod', inv)).toEqual(['lb1', 'web1', 'db1']);
  });
  it('subscripts pick from a group (inclusive slices)', () => {
    expect(selectHosts('web[0]', inv)).toEqual(['web1']);
    expect(selectHosts('web[-1]', inv)).toEqual(['web3']);
    expect(selectHosts('web[0:1]', inv)).toEqual(['web1', 'web2']);
  });
  it('parts that match nothing are ignored and reported by unmatchedPatterns', () => {
    expect(selectHosts('web:nosuch', inv)).toEqual(['web1', 'web2', 'web3']);
    expect(selectHosts('nosuch', inv)).toEqual([]);
    expect(selectHosts('', inv)).toEqual([]);
    expect(unmatchedPatterns('web:nosuch:&nope*:!db', inv)).toEqual(['nosuch', '&nope*']);
    expect(unmatchedPatterns('web:&prod', inv)).toEqual([]);
  });
});
