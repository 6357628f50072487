import { describe, expect, it } from 'vitest';
import { registry, type TaskName } from '../../../src/tasks/index.js';

describe('task registry', () => {
  it('holds the file and command tasks under their playbook keys', () => {
    const names: TaskName[] = ['command', 'shell', 'file', 'copy', 'lineinfile'];
    expect(Object.keys(registry).sort()).toEqual([...names].sort());
    for (const n of names) {
      expect(registry[n].name).toBe(n);
      expect(registry[n].description.length).toBeGreaterThan(10);
    }
  });
});
