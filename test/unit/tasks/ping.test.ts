import { describe, expect, it } from 'vitest';
import { ping } from '../../../src/tasks/ping.js';
import { ctx } from './_helpers.js';

describe('ping task', () => {
  it('is ok and registers ping: pong, or the data given', () => {
    expect(ping.plan(ping.schema.parse({}), {}, ctx)).toEqual({ kind: 'ok', reason: 'web1 answers: pong', data: { ping: 'pong' } });
    expect(ping.plan(ping.schema.parse({ data: 'hello' }), {}, ctx)).toEqual({ kind: 'ok', reason: 'web1 answers: hello', data: { ping: 'hello' } });
    expect(ping.facts(ping.schema.parse({}), ctx)).toEqual({});
  });
  it('data: crash fails the task, as Ansible\'s module does; other keys are refused', () => {
    expect(() => ping.plan(ping.schema.parse({ data: 'crash' }), {}, ctx)).toThrow('boom (ping data: crash)');
    expect(ping.schema.safeParse({ dta: 'x' }).error?.issues[0]?.message).toMatch(/Unrecognized key: "dta"/);
  });
});
