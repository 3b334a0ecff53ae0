import { defineConfig } from 'vitest/config';

// Two projects: unit tests never touch a broker; integration tests always use the real local stack
// (Kafka, schema registry, Redis, PostgreSQL), found by test/support/global-setup.ts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: keep the broker, the registry and the tests from starving each other.
          maxWorkers: 2,
        },
      },
    ],
  },
});
