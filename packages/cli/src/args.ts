import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A usage error: printed with a hint, exit status 1 (as runc). */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses one command's flags (runc's spellings: -b DIR, --bundle DIR, --bundle=DIR). */
export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** Exactly one positional argument: the container id. */
export function containerIdArgument(command: string, positionals: string[]): string {
  if (positionals.length !== 1) {
    throw new UsageError(`${command}: expects exactly one container id, got ${positionals.length} arguments`);
  }
  return positionals[0]!;
}
