import type { CommandName } from '../flags.js';
import { type Command, main } from '../main.js';

/**
 * The command line of one bundled file of the executable: `name` alone (or, without one, only
 * help, --version and the answer to an unknown command). corral.ts picks the file by the
 * command, so each invocation loads what its command needs and nothing more.
 */
export function commandLine(name?: CommandName, command?: Command): (argv: string[]) => Promise<number> {
  const commands = name && command ? { [name]: async () => command } : {};
  return (argv) => main(argv, commands);
}
