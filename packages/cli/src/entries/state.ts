import { state as command } from '../commands/lifecycle.js';
import { commandLine } from './command-line.js';

export const run = commandLine('state', command);
