#!/usr/bin/env node
// Builds dist/corral, the command line as a Node single executable application: the Node that
// runs this build, with dist/corral.cjs and its V8 code cache inside. It starts 6 to 8 ms
// sooner than `node dist/corral.cjs` (Node finds its main script in itself, with no module
// resolution or compiling), which every command pays, podman's three or more a container.
// It loads the command's bundle from dist/entries beside it, as corral.cjs does. The npm package
// leaves it out (it is a copy of Node, 120 MB): installed from npm, `corral` is corral.cjs.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { inject } from 'postject';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const config = `${dist}single-executable.json`;
const blob = `${dist}single-executable.blob`;
const partial = `${dist}corral.partial`;
// Node's marker for the blob's resource, which the executable looks for when it starts.
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

try {
  writeFileSync(
    config,
    JSON.stringify({
      main: `${dist}corral.cjs`,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  copyFileSync(process.execPath, partial);
  // The ELF reader inside postject warns of note sections it has no name for; nothing is wrong.
  const warn = console.warn;
  console.warn = (...args) => {
    if (!String(args[0]).includes("Can't find string offset for section name")) warn(...args);
  };
  try {
    await inject(partial, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SENTINEL_FUSE });
  } finally {
    console.warn = warn;
  }
  chmodSync(partial, 0o755);
  renameSync(partial, `${dist}corral`);
} finally {
  for (const file of [config, blob, partial]) rmSync(file, { force: true });
}
