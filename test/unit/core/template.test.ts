import { describe, expect, it } from 'vitest';
import { evalCondition, renderValue } from '../../../src/core/template.js';
import { TemplateError } from '../../../src/contract/errors.js';

const vars = {
  port: 22,
  users: ['alice', 'bob'],
  cfg: { name: 'web', nested: { on: true } },
  greeting: 'hello world',
  off: false,
  empty: [],
  nothing: null,
  ansible_os_family: 'Debian',
  path: '/etc/ssh/sshd_config',
};

const r = (v: unknown) => renderValue(v, vars);

describe('renderValue', () => {
  it('returns strings without template syntax unchanged', () => {
    expect(r('plain {text}')).toBe('plain {text}');
    expect(r(42)).toBe(42);
    expect(r(null)).toBe(null);
  });

  it('returns the native value for a single expression', () => {
    expect(r('{{ port }}')).toBe(22);
    expect(r('{{ users }}')).toEqual(['alice', 'bob']);
    expect(r('{{ cfg.nested }}')).toEqual({ on: true });
    expect(r('{{ off }}')).toBe(false);
    expect(r('{{ nothing }}')).toBe(null);
    expect(r('{{ port + 1 }}')).toBe(23);
    // a string stays a string (Ansible as installed, jinja2_native off: oracle native-string-literal-numeric)
    expect(r("{{ '22' }}")).toBe('22');
    expect(renderValue('{{ version }}', { version: '1.10' })).toBe('1.10');
    expect(r("{{ '22' | string }}")).toBe('22');
  });

  it('renders mixed text to a string', () => {
    expect(r('Port {{ port }}')).toBe('Port 22');
    expect(r(' {{ port }}')).toBe(' 22');
    expect(r('{{ port }}{{ port }}')).toBe('2222'); // text; only text that looks like a list, dict, True or False is read back
    expect(r('[{{ port }}]')).toEqual([22]);
    expect(r('{{ port }}-{{ port }}')).toBe('22-22');
    expect(r("{{ '}}' }}")).toBe('}}');
  });

  it('walks objects and arrays deeply', () => {
    expect(r({ a: ['{{ port }}', { b: 'x{{ cfg.name }}' }], c: 1 })).toEqual({ a: [22, { b: 'xweb' }], c: 1 });
  });

  it('names the undefined variable', () => {
    expect(() => r('{{ admin_user }}')).toThrow(new TemplateError('undefined variable "admin_user" in "{{ admin_user }}"'));
    expect(() => r('user: {{ admin_user }}')).toThrow('undefined variable "admin_user" in "user: {{ admin_user }}"');
    expect(() => r('{{ admin_user | upper }}')).toThrow('undefined variable "admin_user"');
    expect(() => r('{{ "x" ~ admin_user }}')).toThrow('undefined variable "admin_user"');
    expect(() => r('{% for u in admins %}{{ u }}{% endfor %}')).toThrow('undefined variable "admins"');
  });

  it('errors are TemplateError with code E_TEMPLATE', () => {
    try {
      r('{{ nope }}');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateError);
      expect((err as TemplateError).code).toBe('E_TEMPLATE');
    }
    expect(() => r('{{ port + }}')).toThrow(/^syntax error in "\{\{ port \+ \}\}"/);
  });

  it('default / d / mandatory', () => {
    expect(r("{{ admin_user | default('root') }}")).toBe('root');
    expect(r('{{ admin_user | d(5) }}')).toBe(5);
    expect(r("{{ cfg.missing | default('m') }}")).toBe('m');
    expect(r("{{ empty | default('e', true) }}")).toBe('e');
    expect(r("{{ empty | default('e') }}")).toEqual([]);
    expect(() => r('{{ admin_user | mandatory }}')).toThrow('undefined variable "admin_user"');
    expect(() => r("{{ admin_user | mandatory('set admin_user') }}")).toThrow('set admin_user');
    expect(r('{{ port | mandatory }}')).toBe(22);
  });

  it('Ansible filters', () => {
    expect(r("{{ 'yes' | bool }}")).toBe(true);
    expect(r("{{ 'off' | bool }}")).toBe(false);
    expect(r('{{ 1 | bool }}')).toBe(true);
    expect(r("{{ '42' | int + 1 }}")).toBe(43);
    expect(r("{{ 'x' | int }}")).toBe(0);
    expect(r("{{ 'ff' | int(0, 16) }}")).toBe(255);
    expect(r('{{ port | string }}')).toBe('22');
    expect(r('{{ greeting | quote }}')).toBe("'hello world'");
    expect(r("echo {{ \"it's $(x)\" | quote }}")).toBe(`echo 'it'"'"'s $(x)'`);
    expect(r("{{ \"it's $(x)\" | quote }}")).toBe(`'it'"'"'s $(x)'`);
    expect(r("{{ greeting | regex_replace('(\\w+) (\\w+)', '\\2 \\1') }}")).toBe('world hello');
    expect(r("{{ greeting | regex_replace('o', '$') }}")).toBe('hell$ w$rld');
    expect(r("{{ greeting | regex_replace('(?P<first>\\w+) .*', '\\g<first>!') }}")).toBe('hello!');
    expect(r("{{ greeting | regex_replace('HELLO', 'bye', ignorecase=true) }}")).toBe('bye world');
    expect(r("{{ greeting | regex_search('w(or)') }}")).toBe('wor');
    expect(r("{{ greeting | regex_search('w(or)', '\\1') }}")).toEqual(['or']);
    expect(r("{{ greeting | regex_search('zzz') }}")).toBe(null);
    expect(r('{{ greeting | b64encode }}')).toBe('aGVsbG8gd29ybGQ=');
    expect(r("{{ 'aGVsbG8gd29ybGQ=' | b64decode }}")).toBe('hello world');
    expect(r('{{ cfg | to_json }}')).toBe('{"name": "web", "nested": {"on": true}}'); // Python's json.dumps
    expect(r('{{ \'{"a": [1, 2]}\' | from_json }}')).toEqual({ a: [1, 2] });
    expect(r('{{ path | basename }}')).toBe('sshd_config');
    expect(r('{{ path | dirname }}')).toBe('/etc/ssh');
    expect(r("{{ off | ternary('yes', 'no') }}")).toBe('no');
    expect(r("{{ nothing | ternary('yes', 'no', 'none') }}")).toBe('none');
    expect(r("{{ users | join(',') }}")).toBe('alice,bob');
    expect(() => r("{{ 'x' | from_json }}")).toThrow(/from_json/);
  });

  it('tests defined / undefined / none and Python literals', () => {
    expect(r('{{ port is defined }}')).toBe(true);
    expect(r('{{ admin_user is defined }}')).toBe(false);
    expect(r('{{ admin_user is undefined }}')).toBe(true);
    expect(r('{{ admin_user.x.y is defined }}')).toBe(false);
    expect(r('{{ cfg.missing is defined }}')).toBe(false);
    expect(r('{{ nothing is none }}')).toBe(true);
    expect(r('{{ port is none }}')).toBe(false);
    expect(r('{{ True and not False }}')).toBe(true);
    expect(r('{{ None is none }}')).toBe(true);
  });
});

describe('evalCondition', () => {
  const c = (x: Parameters<typeof evalCondition>[0]) => evalCondition(x, vars);

  it('evaluates bare expressions', () => {
    expect(c("ansible_os_family == 'Debian'")).toBe(true);
    expect(c("ansible_os_family == 'RedHat'")).toBe(false);
    expect(c("ansible_os_family == 'Debian' and admin_user is defined")).toBe(false);
    expect(c("ansible_os_family == 'Debian' and admin_user is not defined")).toBe(true);
    expect(c('port > 20 and port < 30')).toBe(true);
    expect(c("'bob' in users")).toBe(true);
    expect(c('admin_user is defined and admin_user')).toBe(false);
  });

  it('uses Python truthiness', () => {
    expect(c('empty')).toBe(false);
    expect(c('not empty')).toBe(true);
    expect(c('users')).toBe(true);
    expect(c('nothing')).toBe(false);
    expect(c("''")).toBe(false);
    expect(c('cfg')).toBe(true);
  });

  it('booleans and lists (AND)', () => {
    expect(c(true)).toBe(true);
    expect(c(false)).toBe(false);
    expect(c(['port == 22', 'users | length == 2'])).toBe(true);
    expect(c(['port == 22', 'off'])).toBe(false);
    expect(c([])).toBe(true);
  });

  it('tolerates {{ }} around the condition', () => {
    expect(c('{{ port == 22 }}')).toBe(true);
  });

  it('an undefined variable is an error, not a truth value', () => {
    expect(() => c('enable_foo')).toThrow(new TemplateError('undefined variable "enable_foo" in "enable_foo"'));
    expect(() => c('not enable_foo')).toThrow('undefined variable "enable_foo" in "not enable_foo"');
    expect(() => c("enable_foo == 'x'")).toThrow('undefined variable "enable_foo"');
    expect(() => c('port == 22 and enable_foo')).toThrow('undefined variable "enable_foo"');
    expect(() => c("'a' if enable_foo else 'b'")).toThrow('undefined variable "enable_foo"');
    expect(() => c('')).toThrow('empty condition');
  });
});

describe('list and dict filters (Ansible)', () => {
  it('map, list, flatten, union, combine', () => {
    const vars = { ports: [80, 443], base: { A: 'x' } };
    expect(renderValue("{{ ports | map('string') | map('regex_replace', '^(.*)$', '--dport \\1') | list }}", vars)).toEqual(['--dport 80', '--dport 443']);
    expect(renderValue('{{ [[1, [2]], 3] | flatten }}', vars)).toEqual([1, 2, 3]);
    expect(renderValue('{{ ports | union([443, 22]) }}', vars)).toEqual([80, 443, 22]);
    expect(renderValue("{{ base | combine({'B': 'y'}) }}", vars)).toEqual({ A: 'x', B: 'y' });
    expect(renderValue("{{ [{'n': 1}, {'n': 2}] | map(attribute='n') | list }}", vars)).toEqual([1, 2]);
    expect(() => renderValue("{{ ports | map('nope') }}", vars)).toThrow(/the filter "nope"/);
  });
});
