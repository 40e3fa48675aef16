import { renameSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';

import {
  type ContainerDir,
  type CreateOptions,
  containerState,
  createWaitingContainer,
  deleteContainer,
  deleteLeftover,
  killContainer,
  listContainers,
  openContainer,
  pauseContainer,
  resumeContainer,
  startContainer,
} from '@corral/core';

import {
  CommandError,
  containerIdArgument,
  describeSystemError,
  parseCommandArgs,
  passedDescriptors,
  UsageError,
} from '../args.js';
import { cacheDir } from '../cache-files.js';
import { COMMAND_FLAGS } from '../flags.js';
import type { GlobalOptions } from '../global.js';
import { writeOut } from '../output.js';
import { seccompStore } from '../seccomp-store.js';

/** The flags `create` and `run` share. */
export const CREATE_FLAGS = COMMAND_FLAGS.create;

/** What those flags, the environment and the global flags ask of a new container. */
export function createOptions(
  id: string,
  values: { [flag in keyof typeof CREATE_FLAGS]?: string | boolean },
  global: GlobalOptions,
): CreateOptions {
  const passed = passedDescriptors(values['preserve-fds'] as string | undefined);
  return {
    id,
    bundle: values.bundle as string,
    root: global.root,
    rootless: global.rootless,
    systemdCgroup: global.systemdCgroup,
    noPivot: values['no-pivot'] as boolean | undefined,
    noNewKeyring: values['no-new-keyring'] as boolean | undefined,
    consoleSocket: values['console-socket'] as string | undefined,
    pidfdSocket: values['pidfd-socket'] as string | undefined,
    preserveFds: passed.count,
    extraEnv: passed.env,
    notifySocket: process.env.NOTIFY_SOCKET || undefined,
    seccompCache: seccompStore(cacheDir('seccomp')),
    warn: global.warn,
    debug: global.logDebug,
  };
}

/** `create [--bundle DIR] ID`: the container waits at its exec FIFO until `start`. */
export async function create(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('create', args);
  const id = containerIdArgument('create', positionals);
  const container = await createWaitingContainer(createOptions(id, values, global));
  if (values['pid-file']) await writePidFileOrDelete(container, values['pid-file'], global);
  return 0;
}

/**
 * A status the operation refuses, in runc's words where tools match on them; other failures
 * pass through.
 */
async function inRuncWords<T>(step: () => Promise<T>, words: (status: string) => string): Promise<T> {
  try {
    return await step();
  } catch (error) {
    const { code, status } = error as { code?: string; status?: string };
    if (code !== 'INVALID_STATE' || status === undefined) throw error;
    throw new CommandError(words(status), { cause: error });
  }
}

/** runc's answers to a start the status refuses. */
function startRefused(status: string): string {
  if (status === 'running') return 'cannot start an already running container';
  if (status === 'stopped') return 'cannot start a container that has stopped';
  return `cannot start a container in the ${status} state`;
}

export async function start(args: string[], global: GlobalOptions): Promise<number> {
  const { positionals } = parseCommandArgs('start', args);
  const container = openContainer(global.root, containerIdArgument('start', positionals));
  const options = {
    warn: global.warn,
    debug: global.logDebug,
    notifySocket: process.env.NOTIFY_SOCKET || undefined,
  };
  await inRuncWords(() => startContainer(container, options), startRefused);
  return 0;
}

export async function state(args: string[], global: GlobalOptions): Promise<number> {
  const { positionals } = parseCommandArgs('state', args);
  const container = openContainer(global.root, containerIdArgument('state', positionals));
  writeOut(`${JSON.stringify(await containerState(container), null, 2)}\n`);
  return 0;
}

/** A signal by name (KILL, SIGKILL) or number, as runc's kill takes it; 0 checks liveness. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 0 && n <= 64) return n;
  } else {
    const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = constants.signals[name as NodeJS.Signals];
    if (n !== undefined) return n;
  }
  throw new UsageError(`kill: unknown signal ${JSON.stringify(text)}`);
}

export async function kill(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('kill', args);
  if (positionals.length < 1 || positionals.length > 2) {
    throw new UsageError(
      `kill: expects a container id and an optional signal, got ${positionals.length} arguments`,
    );
  }
  const signal = parseSignal(positionals[1] ?? 'SIGTERM');
  const container = openContainer(global.root, positionals[0]!);
  try {
    await killContainer(container, signal, { all: values.all, debug: global.logDebug });
  } catch (error) {
    // runc's answers, which containerd's shim and podman act on: a container with nothing
    // left to signal is "not running" (exit 1), which with --all is no error (exit 0).
    if ((error as { code?: string }).code !== 'INVALID_STATE') throw error;
    if (values.all) return 0;
    throw new CommandError('container not running', { cause: error });
  }
  return 0;
}

export async function remove(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('delete', args);
  const id = containerIdArgument('delete', positionals);
  const options = { force: values.force, warn: global.warn, debug: global.logDebug };
  try {
    const container = openContainer(global.root, id);
    await inRuncWords(
      () => deleteContainer(container, options),
      (status) => `cannot delete container ${id} that is not stopped: ${status}`,
    );
  } catch (error) {
    // runc: deleting what is not there is an error, except with --force. That is also what a
    // delete --force that waited for another one's lock finds; and a create killed before it
    // recorded its state leaves a directory that holds no container.
    if (values.force && (error as { code?: string }).code === 'CONTAINER_NOT_FOUND') {
      await deleteLeftover(global.root, id, options);
      return 0;
    }
    throw error;
  }
  return 0;
}

export async function list(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('list', args);
  if (positionals.length) throw new UsageError('list: takes no arguments');
  if (values.format !== 'table' && values.format !== 'json') {
    throw new UsageError(`list: --format must be table or json, got ${JSON.stringify(values.format)}`);
  }
  let containers: ContainerDir[];
  try {
    containers = listContainers(global.root);
  } catch (error) {
    const reason = describeSystemError(error);
    if (reason === undefined) throw error;
    throw new CommandError(`${global.root}: ${reason}`, { cause: error });
  }
  // runc's list names who made each container; `state` leaves the owner empty, as runc's does.
  const states = await Promise.all(
    containers.map(async (dir) => ({ ...(await containerState(dir)), owner: dir.ownerName() })),
  );
  if (values.quiet) {
    writeOut(states.map((s) => `${s.id}\n`).join(''));
  } else if (values.format === 'json') {
    // The owner as the table shows it, which runc fills in for JSON too.
    writeOut(`${JSON.stringify(states.map((s) => ({ ...s, owner: s.owner || 'root' })))}\n`);
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const s of states) rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]);
    const widths = rows[0]!.map((_, col) => Math.max(12, ...rows.map((row) => row[col]!.length + 3)));
    writeOut(
      rows
        .map((row) =>
          row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!))).join(''),
        )
        .join('\n')
        .concat('\n'),
    );
  }
  return 0;
}

/** --pid-file: written whole under a temporary name, then renamed, as runc does. */
export function writePidFile(path: string, pid: number): void {
  const temporary = join(dirname(path), `.${process.pid}.pid-file`);
  try {
    writeFileSync(temporary, String(pid), { mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    const reason = describeSystemError(error);
    if (reason === undefined) throw error;
    throw new CommandError(`--pid-file ${path}: ${reason}`, { cause: error });
  }
}

/** The pid file of a created container; if it cannot be written, the container goes, as with runc. */
export async function writePidFileOrDelete(
  container: ContainerDir,
  path: string,
  global: GlobalOptions,
): Promise<void> {
  try {
    writePidFile(path, (await containerState(container)).pid);
  } catch (error) {
    await deleteContainer(container, { force: true, warn: global.warn });
    throw error;
  }
}

export async function pause(args: string[], global: GlobalOptions): Promise<number> {
  const { positionals } = parseCommandArgs('pause', args);
  await pauseContainer(openContainer(global.root, containerIdArgument('pause', positionals)));
  return 0;
}

export async function resume(args: string[], global: GlobalOptions): Promise<number> {
  const { positionals } = parseCommandArgs('resume', args);
  await resumeContainer(openContainer(global.root, containerIdArgument('resume', positionals)));
  return 0;
}
