import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

import {
  type ContainerDir,
  containerConfig,
  execInContainer,
  InvalidConfigError,
  openContainer,
  type SpecProcess,
} from '@corral/core';
import { exitStatusCode } from '@corral/native';

import {
  ExitStatusError,
  parseCommandArgs,
  passedDescriptors,
  splitAtPositional,
  UsageError,
} from '../args.js';
import { cacheDir } from '../cache-files.js';
import { COMMAND_FLAGS } from '../flags.js';
import type { GlobalOptions } from '../global.js';
import { seccompStore } from '../seccomp-store.js';
import { forwardSignals } from '../signals.js';
import { ourTerminalSize, waitRelaying } from '../terminal.js';
import { writePidFile } from './lifecycle.js';

const OPTIONS = COMMAND_FLAGS.exec;

function parseIds(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff)
    throw new UsageError(`exec: ${what} must be a number, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** The process to exec: -p FILE, or the container's own process changed by the flags. */
function buildProcess(
  container: ContainerDir,
  values: Record<string, unknown>,
  command: string[],
): SpecProcess {
  if (values.process) {
    const text =
      values.process === '-' ? readFileSync(0, 'utf8') : readFileSync(values.process as string, 'utf8');
    try {
      return JSON.parse(text) as SpecProcess;
    } catch (error) {
      throw new InvalidConfigError(
        '--process',
        `${values.process} is not valid JSON: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  if (command.length === 0) throw new UsageError('exec: needs a command to run after the container id');
  const base = containerConfig(container).process!;
  const process: SpecProcess = structuredClone(base);
  process.args = command;
  process.terminal = values.tty === true;
  if (process.terminal && !values.detach) process.consoleSize = ourTerminalSize() ?? process.consoleSize;
  process.env = [...(base.env ?? []), ...((values.env as string[] | undefined) ?? [])];
  if (values.cwd) process.cwd = values.cwd as string;
  if (values.user) {
    const [uid, gid] = (values.user as string).split(':');
    process.user = {
      ...process.user,
      uid: parseIds(uid!, 'the user id'),
      gid: gid === undefined ? 0 : parseIds(gid, 'the group id'),
    };
  }
  const gids = values['additional-gids'] as string[] | undefined;
  if (gids)
    process.user.additionalGids = gids
      .flatMap((g) => g.split(','))
      .map((g) => parseIds(g, 'an additional gid'));
  const caps = values.cap as string[] | undefined;
  if (caps) {
    // Added to every set but the inheritable one (CVE-2022-29162).
    process.capabilities ??= {};
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) {
      process.capabilities[set] = [...new Set([...(process.capabilities[set] ?? []), ...caps])];
    }
  }
  if (values['no-new-privs']) process.noNewPrivileges = true;
  return process;
}

async function failsWith255<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new ExitStatusError(error, 255);
  }
}

export async function exec(args: string[], global: GlobalOptions): Promise<number> {
  const [flagArgs, rest] = splitAtPositional(args, OPTIONS);
  const { values } = parseCommandArgs('exec', flagArgs);
  const [id, ...command] = rest;
  if (!id) throw new UsageError('exec: needs a container id');
  for (const flag of ['process-label', 'apparmor'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`exec: --${flag} is not supported yet`);
  }
  // runc exits 255 when the exec itself fails (no such container, a paused one, a failed start),
  // so that a caller tells it from the exit status of the process.
  const container = await failsWith255(async () => openContainer(global.root, id));
  const process = buildProcess(container, values, command);
  if (process.terminal && values.detach && !values['console-socket'])
    throw new UsageError('exec: a detached process with a terminal needs --console-socket to hand it to');

  const signals = values.detach ? undefined : forwardSignals();
  try {
    const passed = passedDescriptors(values['preserve-fds']);
    process.env = [...(process.env ?? []), ...passed.env];
    const running = await failsWith255(() =>
      execInContainer(container, process, {
        consoleSocket: values['console-socket'] as string | undefined,
        pidfdSocket: values['pidfd-socket'] as string | undefined,
        preserveFds: passed.count,
        ignorePaused: values['ignore-paused'],
        subCgroups: values.cgroup as string[] | undefined,
        seccompCache: seccompStore(cacheDir('seccomp')),
        debug: global.logDebug,
      }),
    );
    if (values['pid-file']) {
      await failsWith255(async () => {
        try {
          writePidFile(values['pid-file']!, running.pid);
        } catch (error) {
          running.signal(constants.signals.SIGKILL);
          await running.wait();
          throw error;
        }
      });
    }
    if (!signals) {
      running.release();
      return 0;
    }
    signals.deliverTo(running);
    return exitStatusCode(await waitRelaying(running.console, running.wait()));
  } finally {
    signals?.stop();
  }
}
