/**
 * A Redis Lua script, sent by its SHA1 (EVALSHA) and loaded on first use or after a Redis restart
 * or SCRIPT FLUSH (NOSCRIPT): the script's text crosses the wire once, not on every call. Used by
 * the pipeline's idempotency and ordering state and by the match-merge store. Scripts that take many
 * keys need them in one slot on Redis Cluster: give the key prefix a hash tag there
 * (e.g. `syncline:{pipeline}:`).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.includes('NOSCRIPT'))
        return redis.eval(this.source, keys.length, ...keys, ...args);
      throw error;
    }
  }
}
