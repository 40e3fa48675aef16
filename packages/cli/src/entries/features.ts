import { features as command } from '../commands/info.js';
import { commandLine } from './command-line.js';

export const run = commandLine('features', command);
