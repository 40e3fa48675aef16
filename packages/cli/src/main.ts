import { HelpRequest, UsageError } from './args.js';
import { parseGlobal } from './global.js';
import { Reporter } from './output.js';

const VERSION = '0.1.0';
const SPEC_VERSION = '1.2.0';

const USAGE = `corral: an OCI container runtime

usage: corral [global options] command [command options] [arguments...]

commands:
  create      create a container that waits for start (--bundle DIR, default .)
  start       start a created container
  run         create and run a container (--bundle DIR, default .; --detach)
  exec        run another process in a running container
  state       print a container's state as JSON
  kill        send a signal to a container's init (default SIGTERM)
  delete      delete a container (--force kills it first)
  list        list containers (-q, --format table|json)
  pause       freeze every process of a container
  resume      thaw a paused container
  update      change a container's resources (runc's flags, or -r FILE|-)
  events      stats and OOM events as JSON lines (--stats once, --interval 5s)
  ps          show a container's processes (--format table|json, then ps arguments)
  checkpoint  dump a running container with CRIU (--image-path DIR, --leave-running, ...)
  restore     restore a container from a checkpoint (--image-path DIR, --bundle DIR, --detach)
  features    print what this runtime supports (runtime-spec features JSON)
  spec        write a new config.json (runc's defaults)

global options:
  --root DIR          state directory (default /run/corral)
  --log FILE          also write errors to FILE
  --criu PATH         the criu binary (default: CORRAL_CRIU, else criu on PATH)
  --systemd-cgroup    put containers in transient systemd scopes (cgroupsPath slice:prefix:name)
  --log-format FMT    text or json
  --version, -v       print the version
  --help, -h          show this help
`;

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
 * What an error prints. A usage error, or one of corral's family (its class says it explains
 * itself; a failed system call joins the family as a SystemError), prints its message and, in
 * JSON logs, its code and the field, file or errno at fault; anything else is a bug and prints
 * its stack. core is loaded only for an error that is not a usage error, and by then the
 * command has loaded it.
 */
async function describeError(
  error: unknown,
): Promise<{ message: string; details?: Record<string, unknown> }> {
  if (error instanceof UsageError) return { message: error.message };
  const { CorralError, toCorralError } = await import('@corral/core');
  const known = toCorralError(error);
  if (!(known instanceof CorralError)) return { message: String((error as Error)?.stack ?? error) };
  const details: Record<string, unknown> = { code: known.code };
  for (const key of ['field', 'path', 'syscall', 'errnoCode', 'status'] as const) {
    const value = (known as unknown as Record<string, unknown>)[key];
    if (value !== undefined && value !== '') details[key] = value;
  }
  return { message: known.message, details };
}

export async function main(argv: string[]): Promise<number> {
  let reporter = new Reporter();
  try {
    const parsed = parseGlobal(argv);
    reporter = new Reporter(parsed.global.logFormat, parsed.global.log);
    parsed.global.warn = (message) => reporter.warn(message);
    if (parsed.version) {
      process.stdout.write(`corral version ${VERSION}\nspec: ${SPEC_VERSION}\n`);
      return 0;
    }
    if (parsed.help || !parsed.command || parsed.command === 'help') {
      process.stdout.write(USAGE);
      return parsed.command || parsed.help ? 0 : 1;
    }
    const load = COMMANDS[parsed.command];
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(parsed.command)} (see corral --help)`);
    return await (await load())(parsed.rest, parsed.global);
  } catch (error) {
    if (error instanceof HelpRequest) {
      process.stdout.write(error.message);
      return 0;
    }
    const { message, details } = await describeError(error);
    reporter.error(message, details);
    return 1;
  }
}
