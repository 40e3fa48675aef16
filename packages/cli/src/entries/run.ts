import { run as command } from '../commands/run.js';
import { commandLine } from './command-line.js';

export const run = commandLine('run', command);
