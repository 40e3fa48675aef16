import { exec as command } from '../commands/exec.js';
import { commandLine } from './command-line.js';

export const run = commandLine('exec', command);
