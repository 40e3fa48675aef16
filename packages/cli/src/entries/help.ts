import { commandLine } from './command-line.js';

/** help, --version, and the answer to a command corral lacks. */
export const run = commandLine();
