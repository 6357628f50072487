/** A tiny fake task registry for schema/playbook tests (the real one lives in src/tasks). */
import { z } from 'zod';
import type { TaskModule } from '../../../src/contract/task.js';

const mk = (name: string, schema: z.ZodType): TaskModule =>
  ({ name, description: `${name} (test module)`, schema, facts: () => ({}), plan: () => ({ kind: 'ok', reason: 'test' }) }) as TaskModule;

export const fakeRegistry: Readonly<Record<string, TaskModule>> = {
  user: mk(
    'user',
    z.strictObject({
      name: z.string().min(1),
      shell: z.string().optional(),
      groups: z.array(z.string()).optional(),
      state: z.enum(['present', 'absent']).default('present'),
    }),
  ),
  command: mk('command', z.union([z.string(), z.strictObject({ cmd: z.string(), creates: z.string().optional() })])),
  sysctl: mk('sysctl', z.strictObject({ name: z.string(), value: z.number().int().min(0).max(10) })),
};
