import { events as command } from '../commands/resources.js';
import { commandLine } from './command-line.js';

export const run = commandLine('events', command);
