import { type ParseArgsConfig, parseArgs } from 'node:util';

import { COMMAND_FLAGS, type CommandName } from './flags.js';
import { commandHelp } from './help.js';

/** A usage error: printed with a hint, exit status 1 (as runc). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the command explains in one line (a file it cannot write, a directory it cannot read). */
export class CommandError extends Error {
  override name = 'CommandError';
}

/**
 * A failure that exits with a status of its own, as runc's do: 255 for a failed exec, 3 for an
 * unknown command. The cause is what is reported.
 */
export class ExitStatusError extends Error {
  override name = 'ExitStatusError';
  readonly exitCode: number;

  constructor(cause: unknown, exitCode: number) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.exitCode = exitCode;
  }
}

/** A Node system error (EACCES, ENOTDIR, ...) as the words runc prints: "permission denied". */
export function describeSystemError(error: unknown): string | undefined {
  // The node:fs error itself, or the one a SystemError wraps.
  for (let at = error, depth = 0; at && depth < 3; at = (at as { cause?: unknown }).cause, depth++) {
    const { code, message } = at as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof message === 'string' && message.startsWith(`${code}: `))
      return message.slice(code.length + 2).split(',')[0];
  }
  return undefined;
}

/**
 * `COMMAND --help` (or -h) before the arguments: main prints the message and exits 0, as runc.
 * Callers such as podman run `RUNTIME checkpoint --help` to learn that a command exists.
 */
export class HelpRequest extends Error {
  override name = 'HelpRequest';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses one command's flags, as flags.ts defines them (runc's spellings: -b DIR, --bundle DIR,
 * --bundle=DIR). `--help` or `-h` among them asks for the command's help instead.
 */
export function parseCommandArgs<N extends CommandName>(command: N, args: string[]) {
  const options = COMMAND_FLAGS[command];
  const { flags } = scanFlags(args, options);
  if (flags.includes('--help') || flags.includes('-h')) throw new HelpRequest(commandHelp(command));
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

/**
 * Splits at the first positional argument, as runc's parser stops there: `exec ID sh -c x`
 * must not read `-c` as a flag of its own. Returns the flags and everything from the positional.
 */
export function splitAtPositional(args: string[], options: Options): [flags: string[], rest: string[]] {
  const { end, rest } = scanFlags(args, options);
  return [args.slice(0, end), args.slice(rest)];
}

/** Where the flags end and the rest begins (after a `--`), and the flags without their values. */
function scanFlags(args: string[], options: Options): { end: number; rest: number; flags: string[] } {
  const flags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return { end: i, rest: i + 1, flags };
    if (!arg.startsWith('-') || arg === '-') return { end: i, rest: i, flags };
    flags.push(arg);
    const long = arg.startsWith('--');
    const name = long ? arg.slice(2).split('=')[0]! : arg.slice(1, 2);
    const option = Object.entries(options).find(([key, o]) => (long ? key === name : o.short === name))?.[1];
    const inlineValue = long ? arg.includes('=') : arg.length > 2;
    if (option?.type === 'string' && !inlineValue) i++;
  }
  return { end: args.length, rest: args.length, flags };
}

/**
 * The descriptors a command passes on from 3 up: --preserve-fds N, plus the sockets of a
 * LISTEN_FDS activation, which also tell the process where they are (LISTEN_PID is its pid, 1).
 */
export function passedDescriptors(preserveFlag: string | undefined): { count: number; env: string[] } {
  let preserve = 0;
  if (preserveFlag !== undefined) {
    if (!/^\d+$/.test(preserveFlag))
      throw new UsageError(`--preserve-fds must be a number, got ${JSON.stringify(preserveFlag)}`);
    preserve = Number(preserveFlag);
  }
  const listen = process.env.LISTEN_FDS;
  if (listen === undefined || listen === '') return { count: preserve, env: [] };
  if (!/^\d+$/.test(listen))
    throw new UsageError(`LISTEN_FDS must be a number, got ${JSON.stringify(listen)}`);
  return { count: Number(listen) + preserve, env: [`LISTEN_FDS=${listen}`, 'LISTEN_PID=1'] };
}
