/**
 * The task reference (docs/tasks.md), generated from the task modules' zod schemas
 * (`npm run docs`), so every argument the code accepts is documented and a
 * test fails when the README falls behind.
 */
import { z } from 'zod';
import type { TaskModule } from '../contract/task.js';

type Json = { [k: string]: unknown };

export const DOCS_BEGIN = '<!-- BEGIN TASK REFERENCE (npm run docs) -->';
export const DOCS_END = '<!-- END TASK REFERENCE -->';

function typeOf(s: Json): string {
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => `\`${String(v)}\``).join(' | ');
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  const anyOf = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (anyOf) return [...new Set(anyOf.map(typeOf))].join(' or ');
  switch (s.type) {
    case 'array':
      return `list of ${typeOf((s.items as Json) ?? {})}`;
    case 'object':
      return 'mapping';
    case 'integer':
      return 'integer';
    case undefined:
      return 'any';
    default:
      return String(s.type);
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The object form of a task's arguments (a union with a string short form has one). */
function objectForm(schema: Json): { object?: Json; shortForm: boolean } {
  if (schema.type === 'object') return { object: schema, shortForm: false };
  const anyOf = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  const object = anyOf?.find((s) => s.type === 'object');
  return { ...(object ? { object } : {}), shortForm: Boolean(anyOf?.some((s) => s.type === 'string')) };
}

export function renderTaskDoc(module: TaskModule): string {
  const schema = z.toJSONSchema(module.schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const { object, shortForm } = objectForm(schema);
  const lines = [`### \`${module.name}\``, '', module.description, ''];
  if (shortForm) lines.push(`Short form: \`${module.name}: <string>\`.`, '');
  const props = (object?.properties ?? {}) as Record<string, Json>;
  const required = new Set((object?.required as string[] | undefined) ?? []);
  if (Object.keys(props).length > 0) {
    lines.push('| argument | type | default | description |', '|---|---|---|---|');
    for (const [name, p] of Object.entries(props)) {
      const def = p.default !== undefined ? `\`${JSON.stringify(p.default)}\`` : required.has(name) ? '**required**' : '';
      lines.push(`| \`${name}\` | ${cell(typeOf(p))} | ${cell(def)} | ${cell(String(p.description ?? ''))} |`);
    }
    lines.push('');
  }
  if (module.example) lines.push('```yaml', module.example.trimEnd(), '```', '');
  return lines.join('\n');
}

export function renderTaskReference(registry: Readonly<Record<string, TaskModule>>): string {
  return Object.values(registry).map(renderTaskDoc).join('\n');
}

/** Replace the generated block of a reference text. */
export function spliceReference(readme: string, reference: string): string {
  const a = readme.indexOf(DOCS_BEGIN);
  const b = readme.indexOf(DOCS_END);
  if (a < 0 || b < a) throw new Error(`the reference has no ${DOCS_BEGIN} ... ${DOCS_END} block`);
  return `${readme.slice(0, a + DOCS_BEGIN.length)}\n\n${reference}\n${readme.slice(b)}`;
}
