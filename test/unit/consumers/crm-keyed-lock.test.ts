/**
 * One read-check-write at a time per target record: holders of one key run one after the other, in
 * the order they asked, other keys do not wait, a failure releases the key, and nothing is kept.
 */
import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../../src/consumers/saas/keyed-lock.ts';

describe('KeyedLock', () => {
  it('serializes holders of one key in arrival order, lets other keys through, and forgets released keys', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));

    const first = lock.run('a', async () => {
      log.push('a1 start');
      await gate;
      log.push('a1 end');
    });
    const second = lock.run('a', () => {
      log.push('a2');
      return Promise.resolve();
    });
    await lock.run('b', () => {
      log.push('b');
      return Promise.resolve();
    });
    openGate();
    await Promise.all([first, second]);

    expect(log).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
    expect(lock.size).toBe(0);
  });

  it('a failing holder passes its error on and releases the key', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.run('k', () => Promise.resolve(7))).resolves.toBe(7);
    expect(lock.size).toBe(0);
  });
});
