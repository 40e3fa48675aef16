import { createRequire } from 'node:module';

import { CorralError, toCorralError } from '@corral/core';
import { seccompLibraryVersion } from '@corral/native';

import { CommandError, ExitStatusError, HelpRequest, UsageError } from './args.js';
import { type CommandName, isCommandName } from './flags.js';
import { parseGlobal } from './global.js';
import { appHelp, commandHelp } from './help.js';
import { Reporter } from './output.js';

/** The runtime-spec version corral implements: core's OCI_VERSION, which --version must not load. */
const SPEC_VERSION = '1.2.0';

/** The commit and version the command was built from: tsup defines them; absent when run from source. */
declare const __CORRAL_COMMIT__: string | undefined;
declare const __CORRAL_VERSION__: string | undefined;

/** runc's version lines (name and version, commit, spec), then Node's and libseccomp's. */
async function versionText(): Promise<string> {
  const version =
    typeof __CORRAL_VERSION__ === 'string'
      ? __CORRAL_VERSION__
      : (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  const commit = typeof __CORRAL_COMMIT__ === 'string' && __CORRAL_COMMIT__ ? __CORRAL_COMMIT__ : undefined;
  // A broken install must not take --version and --help with it: say what failed instead.
  let libseccomp: string;
  try {
    libseccomp = seccompLibraryVersion();
  } catch (error) {
    libseccomp = `unavailable (${(error as Error).message})`;
  }
  return [
    `corral version ${version}`,
    ...(commit ? [`commit: ${commit}`] : []),
    `spec: ${SPEC_VERSION}`,
    `node: ${process.version}`,
    `libseccomp: ${libseccomp}`,
    '',
  ].join('\n');
}

/** `corral help [COMMAND]` and `corral h`: runc's answers, status 3 for a command it lacks. */
async function help(topic: string | undefined, reporter: Reporter): Promise<number> {
  if (topic === undefined) {
    process.stdout.write(appHelp(await versionText()));
    return 0;
  }
  if (!isCommandName(topic)) {
    reporter.error(`No help topic for '${topic}'`);
    return 3;
  }
  process.stdout.write(commandHelp(topic));
  return 0;
}

export type Command = (args: string[], global: ReturnType<typeof parseGlobal>['global']) => Promise<number>;

/** The commands a build of the command line can run, each loaded only when it runs. */
export type CommandTable = Partial<Record<CommandName, () => Promise<Command>>>;

/**
 * What an error prints. A usage error, a failure the command words itself, or one of corral's family (its class says it explains
 * itself; a failed system call joins the family as a SystemError), prints its message and, in
 * JSON logs, its code and the field, file or errno at fault; anything else is a bug and prints
 * its stack.
 */
function describeError(error: unknown): { message: string; details?: Record<string, unknown> } {
  if (error instanceof UsageError || error instanceof CommandError) return { message: error.message };
  const known = toCorralError(error);
  if (!(known instanceof CorralError)) return { message: String((error as Error)?.stack ?? error) };
  const details: Record<string, unknown> = { code: known.code };
  for (const key of ['field', 'path', 'syscall', 'errnoCode', 'status'] as const) {
    const value = (known as unknown as Record<string, unknown>)[key];
    if (value !== undefined && value !== '') details[key] = value;
  }
  return { message: known.message, details };
}

/**
 * The command line over `commands`: global flags, help, version, then the command. The
 * executable gives each command's bundled file a table of that command alone.
 */
export async function main(argv: string[], commands: CommandTable): Promise<number> {
  let reporter = new Reporter();
  try {
    const parsed = parseGlobal(argv);
    reporter = new Reporter(parsed.global.logFormat, parsed.global.log);
    parsed.global.warn = (message) => reporter.warn(message);
    if (parsed.global.debug) parsed.global.logDebug = (message) => reporter.debug(message);
    if (parsed.version) {
      process.stdout.write(await versionText());
      return 0;
    }
    if (parsed.help || !parsed.command) return await help(undefined, reporter);
    if (parsed.command === 'help' || parsed.command === 'h') return await help(parsed.rest[0], reporter);
    const load = isCommandName(parsed.command) ? commands[parsed.command] : undefined;
    if (!load) {
      // runc exits 3 here (its command-line library's "No help topic").
      throw new ExitStatusError(
        new UsageError(`unknown command ${JSON.stringify(parsed.command)} (see corral --help)`),
        3,
      );
    }
    return await (await load())(parsed.rest, parsed.global);
  } catch (error) {
    if (error instanceof HelpRequest) {
      process.stdout.write(error.message);
      return 0;
    }
    const failure = error instanceof ExitStatusError ? error.cause : error;
    const { message, details } = describeError(failure);
    reporter.error(message, details);
    return error instanceof ExitStatusError ? error.exitCode : 1;
  }
}
