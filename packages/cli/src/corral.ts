#!/usr/bin/env node
// The `corral` executable, built as CommonJS: it reads which command runs and loads the one
// bundled file for that command (dist/entries/COMMAND.cjs), which holds all the code the
// command needs and nothing of the others' (it requires only Node's own modules and the addon),
// through a code cache of what the command ran (code-cache.ts).
import { join } from 'node:path';

import { collectTimingMarks, timingMark } from '@corral/core';

import { cacheDir } from './cache-files.js';
import { loadWithCodeCache } from './code-cache.js';
import { isCommandName } from './flags.js';
import { commandName } from './global.js';
import { writeTimingMarks } from './timing.js';

const timing = process.env.CORRAL_TIMING_FILE;
if (timing) writeTimingMarks(timing, collectTimingMarks());
timingMark('entry');
const argv = process.argv.slice(2);
const name = commandName(argv);
const file = join(__dirname, 'entries', `${name !== undefined && isCommandName(name) ? name : 'help'}.cjs`);
const bundle = loadWithCodeCache(file, cacheDir('code-cache'));
process.once('exit', (code) => bundle.keepCache(code === 0));
const { run } = bundle.exports as { run: (argv: string[]) => Promise<number> };
timingMark('command loaded');
run(argv).then((code) => {
  process.exitCode = code;
});
