import { checkpoint as command } from '../commands/checkpoint.js';
import { commandLine } from './command-line.js';

export const run = commandLine('checkpoint', command);
