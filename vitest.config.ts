import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // property tests that run a real shell hundreds of times take seconds each, and a minute on a
          // loaded machine: slow there, never red
          testTimeout: 300_000,
          // @actions/workflow-parser imports its JSON schema without `with { type: 'json' }`,
          // which Node refuses (actions/languageservices#387): let vite load it instead.
          server: { deps: { inline: ['@actions/workflow-parser'] } },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // apt installs inside the hosts dominate; generous so a busy machine is slow, not red
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // Containers are shared across a file; files run one after another so two
          // cores are not oversubscribed by parallel fleets.
          fileParallelism: false,
        },
      },
    ],
  },
});
