#!/usr/bin/env node
// The `corral` executable, built as CommonJS: it reads which command runs and loads the one
// bundled file for that command (dist/entries/COMMAND.cjs), which holds all the code the
// command needs and nothing of the others'. The compile cache goes on before that file loads.
import module from 'node:module';
import { join } from 'node:path';

import { collectTimingMarks, timingMark } from '@corral/core';

import { isCommandName } from './flags.js';
import { commandName } from './global.js';
import { writeTimingMarks } from './timing.js';

const timing = process.env.CORRAL_TIMING_FILE;
if (timing) writeTimingMarks(timing, collectTimingMarks());
timingMark('entry');
module.enableCompileCache?.();
const argv = process.argv.slice(2);
const name = commandName(argv);
const file = join(__dirname, 'entries', `${name !== undefined && isCommandName(name) ? name : 'help'}.cjs`);
const { run } = require(file) as { run: (argv: string[]) => Promise<number> };
timingMark('command loaded');
run(argv).then((code) => {
  process.exitCode = code;
});
