import { renameSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';

import { Container, type CreateOptions } from '@corral/core';

import { containerIdArgument, parseCommandArgs, passedDescriptors, UsageError } from '../args.js';
import { COMMAND_FLAGS } from '../flags.js';
import type { GlobalOptions } from '../global.js';

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
    noPivot: values['no-pivot'] as boolean | undefined,
    noNewKeyring: values['no-new-keyring'] as boolean | undefined,
    consoleSocket: values['console-socket'] as string | undefined,
    pidfdSocket: values['pidfd-socket'] as string | undefined,
    preserveFds: passed.count,
    extraEnv: passed.env,
    notifySocket: process.env.NOTIFY_SOCKET || undefined,
    warn: global.warn,
  };
}

/** `create [--bundle DIR] ID`: the container waits at its exec FIFO until `start`. */
export async function create(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('create', args);
  const id = containerIdArgument('create', positionals);
  const container = await Container.create(createOptions(id, values, global));
  if (values['pid-file']) writePidFile(values['pid-file'], (await container.state()).pid);
  return 0;
}

export async function start(args: string[], global: GlobalOptions): Promise<number> {
  const { positionals } = parseCommandArgs('start', args);
  await Container.load(global.root, containerIdArgument('start', positionals)).start({
    warn: global.warn,
    notifySocket: process.env.NOTIFY_SOCKET || undefined,
  });
  return 0;
}

export async function state(args: string[], global: GlobalOptions): Promise<number> {
  const { positionals } = parseCommandArgs('state', args);
  const container = Container.load(global.root, containerIdArgument('state', positionals));
  process.stdout.write(`${JSON.stringify(await container.state(), null, 2)}\n`);
  return 0;
}

/** A signal by name (KILL, SIGKILL) or number, as runc's kill takes it. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0 && n <= 64) return n;
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
  void values.all; // Accepted as runc still does; the init's pid namespace takes the rest with it.
  const signal = parseSignal(positionals[1] ?? 'SIGTERM');
  await Container.load(global.root, positionals[0]!).signal(signal);
  return 0;
}

export async function remove(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('delete', args);
  const id = containerIdArgument('delete', positionals);
  const options = { force: values.force, warn: global.warn };
  try {
    await Container.load(global.root, id).delete(options);
  } catch (error) {
    // runc: deleting what is not there is an error, except with --force. That is also what a
    // delete --force that waited for another one's lock finds; and a create killed before it
    // recorded its state leaves a directory that holds no container.
    if (values.force && (error as { code?: string }).code === 'CONTAINER_NOT_FOUND') {
      await Container.removeLeftover(global.root, id, options);
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
  // runc's list names who made each container; `state` leaves the owner empty, as runc's does.
  const states = await Promise.all(
    Container.list(global.root).map(async (c) => ({ ...(await c.state()), owner: c.owner() })),
  );
  if (values.quiet) {
    process.stdout.write(states.map((s) => `${s.id}\n`).join(''));
  } else if (values.format === 'json') {
    process.stdout.write(`${JSON.stringify(states)}\n`);
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const s of states) rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]);
    const widths = rows[0]!.map((_, col) => Math.max(12, ...rows.map((row) => row[col]!.length + 3)));
    process.stdout.write(
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
  writeFileSync(temporary, String(pid), { mode: 0o644 });
  renameSync(temporary, path);
}

export async function pause(args: string[], global: GlobalOptions): Promise<number> {
  const { positionals } = parseCommandArgs('pause', args);
  await Container.load(global.root, containerIdArgument('pause', positionals)).pause();
  return 0;
}

export async function resume(args: string[], global: GlobalOptions): Promise<number> {
  const { positionals } = parseCommandArgs('resume', args);
  await Container.load(global.root, containerIdArgument('resume', positionals)).resume();
  return 0;
}
