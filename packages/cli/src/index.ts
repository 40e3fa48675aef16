import { COMMANDS } from './commands/table.js';
import { main as commandLine } from './main.js';

/** The CLI as a function, for tools that embed it: `await main(['run', '-b', dir, 'id'])`. */
export function main(argv: string[]): Promise<number> {
  return commandLine(argv, COMMANDS);
}
