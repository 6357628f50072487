/**
 * Task arguments are rendered on each host before their schema checks them, so
 * in a playbook any argument may be a `{{ … }}` string: a boolean, a number, an
 * enum, a port, a mode, a list or a mapping given as a template. The JSON
 * Schema editors check playbooks with must accept that, or yaml-language-server
 * marks valid playbooks (playbooks/harden.yaml) as wrong.
 *
 * `acceptTemplates` rewrites a generated JSON Schema in place: under each task
 * type's key, every schema that constrains a value (type, enum, const,
 * pattern, format) becomes `anyOf: [itself, a string holding {{ or {%]`,
 * at every depth (a list item, a mapping's value), shared `$defs` included;
 * the task type's value may also be a `key=value` string (Ansible's short form).
 */

type Node = Record<string, unknown>;

const TEMPLATE_DEF = 'jinja_template';
const TEMPLATE: Node = {
  type: 'string',
  pattern: '\\{\\{|\\{%',
  description: 'A Jinja2 template ({{ … }}), rendered on each host before the argument is checked',
};
const KEY_VALUE: Node = { type: 'string', description: 'The arguments as key=value words (Ansible short form)' };

const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A schema some string outside it could satisfy once rendered: anything but a plain string. */
const constrains = (n: Node): boolean =>
  'enum' in n || 'const' in n || 'pattern' in n || 'format' in n || (n.type !== undefined && n.type !== 'string') || ('type' in n && ('minLength' in n || 'maxLength' in n));

/** The schemas directly under `n`, where a value of its own may sit. */
function children(n: Node): Node[] {
  const out: Node[] = [];
  for (const k of ['items', 'additionalProperties', 'not']) if (isNode(n[k])) out.push(n[k]);
  for (const k of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) if (Array.isArray(n[k])) out.push(...(n[k] as unknown[]).filter(isNode));
  for (const k of ['properties', 'patternProperties']) if (isNode(n[k])) out.push(...Object.values(n[k]).filter(isNode));
  return out;
}

class Rewriter {
  private readonly done = new Set<Node>();
  constructor(private readonly defs: Record<string, Node>) {}

  /** `n`, or the shared definition it refers to (through definitions that only refer on). */
  resolve(n: Node): Node {
    let at = n;
    for (const seen = new Set<Node>(); !seen.has(at); ) {
      seen.add(at);
      const ref = typeof at.$ref === 'string' ? /^#\/\$defs\/(.+)$/.exec(at.$ref)?.[1] : undefined;
      const next = ref !== undefined ? this.defs[ref] : undefined;
      if (!next) break;
      at = next;
    }
    return at;
  }

  /** Let everything under `n` take a template, not `n` itself (a task's arguments are not one template). */
  visitChildren(n: Node): void {
    for (const c of children(this.resolve(n))) this.visit(c);
  }

  /** Let `n` (and everything under it) take a template as well. */
  visit(node: Node): void {
    const n = this.resolve(node);
    if (this.done.has(n)) return;
    this.done.add(n);
    for (const c of children(n)) this.visit(c);
    if (!constrains(n)) return;
    const inner: Node = { ...n };
    for (const k of Object.keys(n)) delete n[k];
    if (inner.description !== undefined) n.description = inner.description;
    n.anyOf = [inner, { $ref: `#/$defs/${TEMPLATE_DEF}` }];
  }
}

/** Rewrite `schema` (a playbook JSON Schema from buildPlaybookSchema) so task arguments take templates; returns it. */
export function acceptTemplates(schema: Node, taskNames: readonly string[]): Node {
  const defs = (isNode(schema.$defs) ? schema.$defs : (schema.$defs = {})) as Record<string, Node>;
  const rewriter = new Rewriter(defs);
  const variants: Node[] = [];
  const collect = (n: Node, seen: Set<Node>): void => {
    if (seen.has(n)) return;
    seen.add(n);
    const props = n.properties;
    // a task or handler: the task keywords (when...) and exactly one task type, required
    const isTask = isNode(props) && 'when' in props && Array.isArray(n.required) && n.required.length === 1 && taskNames.includes(n.required[0] as string);
    if (isTask) variants.push(n);
    if (rewriter.resolve(n) !== n) collect(rewriter.resolve(n), seen);
    for (const c of children(n)) collect(c, seen);
  };
  collect(schema, new Set());
  for (const v of variants) {
    const key = (v.required as string[])[0] as string;
    const props = v.properties as Record<string, Node>;
    const args = props[key] as Node;
    rewriter.visitChildren(args);
    props[key] = { anyOf: [args, KEY_VALUE], ...(args.description !== undefined ? { description: args.description } : {}) };
  }
  defs[TEMPLATE_DEF] = TEMPLATE;
  return schema;
}
