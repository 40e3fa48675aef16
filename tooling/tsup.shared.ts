import { defineConfig, type Options } from 'tsup';

/**
 * One build shape for every published package: ESM with declarations, Node 22+, no bundling of
 * dependencies (each package declares its own), sources that stay readable in stack traces.
 */
export function packageConfig(entry: Record<string, string>, overrides: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm'],
    target: 'node22',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: true,
    treeshake: true,
    ...overrides,
  });
}
