#!/usr/bin/env node
// Builds dist/corral-front from src/front: the commands of a plain container done without
// starting Node (src/front/front.h says which), everything else handed to dist/corral, the single
// executable beside it. Static, as corral-init is, so it starts without the dynamic loader. Like
// the single executable it is for a checkout or a machine's own install; the npm package leaves
// both out. Without a C compiler the build says so and leaves it out: bin/corral then runs
// dist/corral itself.
import { spawnSync } from 'node:child_process';
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/front/', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const partial = `${dist}corral-front.partial`;
const cc = process.env.CC ?? 'cc';
const flags = [
  '-std=gnu11',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-O2',
  '-fstack-protector-strong',
  '-D_FORTIFY_SOURCE=2',
];
const sources = readdirSync(src)
  .filter((name) => name.endsWith('.c'))
  .map((name) => `${src}${name}`);

const result = spawnSync(cc, [...flags, '-static-pie', '-o', partial, ...sources], { stdio: 'inherit' });
if (result.error?.code === 'ENOENT') {
  console.warn(
    `corral-front not built: no C compiler (${cc}); bin/corral runs dist/corral for every command`,
  );
} else if (result.status !== 0) {
  rmSync(partial, { force: true });
  process.exit(result.status ?? 1);
} else {
  renameSync(partial, `${dist}corral-front`);
}
