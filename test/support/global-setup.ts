/**
 * Integration tests run against the real local stack: Kafka, the schema registry, Redis and
 * PostgreSQL, never a mock of them. This set-up uses the stack named by the environment
 * (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, DATABASE_URL; defaults are the local stack's) and, when
 * Kafka or the registry is not up, starts them with `syncline infra up`'s own code. Redis and
 * PostgreSQL it only checks: without them it fails with the reason.
 */
import { LocalStack } from '../../src/infra/stack.ts';
import { loadConfig } from '../../src/runtime/config.ts';

export default async function setup(): Promise<void> {
  const config = loadConfig();
  const stack = new LocalStack(config);
  const parts = await stack.status();
  const down = parts.filter((part) => part.state === 'stopped');
  if (down.length === 0) return;
  process.stderr.write(
    `[global-setup] starting the local stack (${down.map((p) => p.part).join(', ')} down)\n`,
  );
  await stack.up();
}
