import { spec as command } from '../commands/spec.js';
import { commandLine } from './command-line.js';

export const run = commandLine('spec', command);
