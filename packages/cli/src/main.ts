import { createRequire } from 'node:module';

import { HelpRequest, UsageError } from './args.js';
import { isCommandName } from './flags.js';
import { parseGlobal } from './global.js';
import { appHelp, commandHelp } from './help.js';
import { Reporter } from './output.js';

/** The runtime-spec version corral implements. */
const SPEC_VERSION = '1.2.0';

/** The commit the command was built from: tsup defines it; absent when run from source. */
declare const __CORRAL_COMMIT__: string | undefined;

/** runc's version lines (name and version, commit, spec), then Node's and libseccomp's. */
async function versionText(): Promise<string> {
  const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
  const commit = typeof __CORRAL_COMMIT__ === 'string' && __CORRAL_COMMIT__ ? __CORRAL_COMMIT__ : undefined;
  // A broken install must not take --version and --help with it: say what failed instead.
  let libseccomp: string;
  try {
    libseccomp = (await import('@corral/native')).seccompLibraryVersion();
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

type Command = (args: string[], global: ReturnType<typeof parseGlobal>['global']) => Promise<number>;

// Each command is loaded only when it runs.
const COMMANDS: Record<string, () => Promise<Command>> = {
  create: async () => (await import('./commands/lifecycle.js')).create,
  start: async () => (await import('./commands/lifecycle.js')).start,
  state: async () => (await import('./commands/lifecycle.js')).state,
  kill: async () => (await import('./commands/lifecycle.js')).kill,
  delete: async () => (await import('./commands/lifecycle.js')).remove,
  list: async () => (await import('./commands/lifecycle.js')).list,
  pause: async () => (await import('./commands/lifecycle.js')).pause,
  resume: async () => (await import('./commands/lifecycle.js')).resume,
  run: async () => (await import('./commands/run.js')).run,
  exec: async () => (await import('./commands/exec.js')).exec,
  update: async () => (await import('./commands/resources.js')).update,
  events: async () => (await import('./commands/resources.js')).events,
  ps: async () => (await import('./commands/info.js')).ps,
  checkpoint: async () => (await import('./commands/checkpoint.js')).checkpoint,
  restore: async () => (await import('./commands/checkpoint.js')).restore,
  features: async () => (await import('./commands/info.js')).features,
  spec: async () => (await import('./commands/spec.js')).spec,
};

/**
 * Errors that explain themselves (corral's own, with a code, and usage errors) print as their
 * message; anything else is a bug and prints its stack. Checked by shape so that the command
 * does not load core just to print its version.
 */
function isExpectedError(error: unknown): error is Error {
  if (error instanceof UsageError) return true;
  return (
    error instanceof Error &&
    // The packages' own errors say what went wrong; a stack is only for the unexpected.
    /^(CorralError|InvalidConfigError|SystemError|InitError|CreateContainerError|CgroupError|CriuError|NetworkError)$/.test(
      error.name,
    )
  );
}

export async function main(argv: string[]): Promise<number> {
  let reporter = new Reporter();
  try {
    const parsed = parseGlobal(argv);
    reporter = new Reporter(parsed.global.logFormat, parsed.global.log);
    parsed.global.warn = (message) => reporter.warn(message);
    if (parsed.version) {
      process.stdout.write(await versionText());
      return 0;
    }
    if (parsed.help || !parsed.command) return await help(undefined, reporter);
    if (parsed.command === 'help' || parsed.command === 'h') return await help(parsed.rest[0], reporter);
    const load = COMMANDS[parsed.command];
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(parsed.command)} (see corral --help)`);
    if (parsed.global.systemdCgroup) throw new UsageError('--systemd-cgroup is not supported yet');
    return await (await load())(parsed.rest, parsed.global);
  } catch (error) {
    if (error instanceof HelpRequest) {
      process.stdout.write(error.message);
      return 0;
    }
    reporter.error(isExpectedError(error) ? error.message : String((error as Error)?.stack ?? error));
    return 1;
  }
}
