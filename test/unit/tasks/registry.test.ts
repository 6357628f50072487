import { describe, expect, it } from 'vitest';
import { registry } from '../../../src/tasks/index.js';

describe('task registry', () => {
  it('holds every task type under the key its module declares, each documented', () => {
    expect(Object.keys(registry).length).toBeGreaterThanOrEqual(8);
    for (const [key, module] of Object.entries(registry)) {
      expect(module.name).toBe(key);
      expect(module.description.length).toBeGreaterThan(10);
    }
  });
});
