import { pause as command } from '../commands/lifecycle.js';
import { commandLine } from './command-line.js';

export const run = commandLine('pause', command);
