/** The message of the ValidationError `fn` throws (fails the test if it throws anything else, or nothing). */
import { expect } from 'vitest';
import { ValidationError } from '../../../src/contract/errors.js';

export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error('expected a ValidationError');
}
