import { defineConfig } from 'vitest/config';

// Tests import workspace packages through their `corral-source` export condition, so they run
// against src/ without a build (the native addon is the one thing that must be built first).
const conditions = ['corral-source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/test/unit/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: ['**/test/system/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          // Real containers, cgroups and namespaces: generous timeouts, files in parallel forks.
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          globalSetup: ['tooling/test-global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'compat',
          // The differential layer: the same bundles under runc and corral (tooling/compat/README.md).
          include: ['tooling/compat/test/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/test/unit/**'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          pool: 'forks',
          globalSetup: ['tooling/test-global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'vm',
          // What needs cgroup v2 or systemd, run inside the test VM (tooling/vm) by `test:vm`.
          include: ['**/test/vm/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          // The guest is emulated: Node runs there about 100 times slower than here.
          testTimeout: 300_000,
          hookTimeout: 300_000,
          pool: 'forks',
          // Two emulated CPUs: each worker pays Node's and vitest's start-up again.
          maxWorkers: 2,
          globalSetup: ['tooling/test-global-setup.ts', 'tooling/vm.d/vitest-setup.ts'],
        },
      },
    ],
  },
});
