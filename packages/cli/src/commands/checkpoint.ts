import { closeSync, fstatSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import {
  checkpointContainer,
  MANAGE_CGROUPS_MODES,
  type ManageCgroupsMode,
  openContainer,
  restoreContainer,
} from '@corral/core';
import { exitStatusCode } from '@corral/native';

import { containerIdArgument, parseCommandArgs, UsageError } from '../args.js';
import { cacheDir, ownDirectory } from '../cache-files.js';
import type { GlobalOptions } from '../global.js';
import { forwardSignals } from '../signals.js';
import { writePidFile } from './lifecycle.js';

/** Flags whose CRIU side corral cannot drive yet: refused rather than silently ignored. */
function refuseUnsupported(
  command: string,
  values: Record<string, unknown>,
  flags: Record<string, string>,
): void {
  for (const [flag, reason] of Object.entries(flags)) {
    if (values[flag] !== undefined && values[flag] !== false) {
      throw new UsageError(`${command}: --${flag} is not supported yet (${reason})`);
    }
  }
}

function manageCgroupsMode(command: string, value: string | undefined): ManageCgroupsMode | undefined {
  if (value === undefined) return undefined;
  if (!MANAGE_CGROUPS_MODES.includes(value as ManageCgroupsMode)) {
    throw new UsageError(
      `${command}: --manage-cgroups-mode must be one of ${MANAGE_CGROUPS_MODES.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as ManageCgroupsMode;
}

/** runc's --empty-ns: only the network namespace can be left empty. */
function emptyNamespaces(command: string, value: string | undefined): { emptyNamespaces?: ['network'] } {
  if (value === undefined) return {};
  if (value !== 'network') {
    throw new UsageError(`${command}: --empty-ns can only be network, got ${JSON.stringify(value)}`);
  }
  return { emptyNamespaces: ['network'] };
}

/** runc's default image directory: ./checkpoint. */
function imagePath(value: string | undefined): string {
  return value ?? join(process.cwd(), 'checkpoint');
}

/** `checkpoint [flags] ID`: dumps a running container with CRIU. */
export async function checkpoint(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('checkpoint', args);
  const id = containerIdArgument('checkpoint', positionals);
  const mode = manageCgroupsMode('checkpoint', values['manage-cgroups-mode']);
  const lazyPages = values['lazy-pages'] ?? false;
  if (lazyPages && values['page-server'] === undefined) {
    throw new UsageError(
      'checkpoint: --lazy-pages serves the memory on --page-server ADDRESS:PORT; give one',
    );
  }
  const status = statusFd(values['status-fd'], lazyPages);
  await checkpointContainer(openContainer(global.root, id), {
    imagePath: imagePath(values['image-path']),
    workPath: values['work-path'],
    parentPath: values['parent-path'],
    criuPath: global.criu,
    criuVersionFile: criuVersionFile(),
    leaveRunning: values['leave-running'],
    preDump: values['pre-dump'],
    tcpEstablished: values['tcp-established'],
    tcpSkipInFlight: values['tcp-skip-in-flight'],
    linkRemap: values['link-remap'],
    ...emptyNamespaces('checkpoint', values['empty-ns']),
    extUnixSk: values['ext-unix-sk'],
    shellJob: values['shell-job'],
    fileLocks: values['file-locks'],
    autoDedup: values['auto-dedup'],
    manageCgroupsMode: mode,
    pageServer: pageServerAddress(values['page-server']),
    lazyPages,
    ...(status !== undefined ? { onLazyServerReady: () => signalReady(status, global) } : {}),
    warn: global.warn,
  });
  return 0;
}

/** runc's --status-fd: an inherited descriptor told when a lazy checkpoint serves its memory. */
function statusFd(value: string | undefined, lazyPages: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (!lazyPages) {
    throw new UsageError(
      'checkpoint: --status-fd says when a lazy checkpoint serves its memory; it needs --lazy-pages',
    );
  }
  const fd = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(fd)) {
    throw new UsageError(`checkpoint: --status-fd must be a descriptor number, got ${JSON.stringify(value)}`);
  }
  try {
    fstatSync(fd);
  } catch {
    throw new UsageError(`checkpoint: --status-fd ${fd} is not an open descriptor of corral`);
  }
  return fd;
}

/** One zero byte, then the descriptor is closed: what runc writes and its callers wait for. */
function signalReady(fd: number, global: GlobalOptions): void {
  try {
    writeSync(fd, Buffer.alloc(1));
    closeSync(fd);
  } catch (error) {
    global.warn(`--status-fd ${fd}: ${(error as Error).message}`);
  }
}

/** runc's --page-server ADDRESS:PORT (an IPv6 address in brackets). */
function pageServerAddress(value: string | undefined): { address: string; port: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535)
    throw new UsageError(`checkpoint: --page-server must be ADDRESS:PORT, got ${JSON.stringify(value)}`);
  return { address: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** `restore [flags] ID`: a new container from a checkpoint and a bundle. */
export async function restore(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('restore', args);
  const id = containerIdArgument('restore', positionals);
  refuseUnsupported('restore', values, {
    'lsm-profile': 'no LSM profiles are applied',
    'lsm-mount-context': 'no LSM profiles are applied',
  });
  // --no-pivot: CRIU switches to the root itself. --no-subreaper: accepted as runc still does.
  void values['no-pivot'];
  void values['no-subreaper'];
  const options = {
    id,
    bundle: values.bundle,
    root: global.root,
    systemdCgroup: global.systemdCgroup,
    imagePath: imagePath(values['image-path']),
    workPath: values['work-path'],
    criuPath: global.criu,
    criuVersionFile: criuVersionFile(),
    tcpEstablished: values['tcp-established'],
    extUnixSk: values['ext-unix-sk'],
    shellJob: values['shell-job'],
    fileLocks: values['file-locks'],
    lazyPages: values['lazy-pages'],
    autoDedup: values['auto-dedup'],
    manageCgroupsMode: manageCgroupsMode('restore', values['manage-cgroups-mode']),
    ...emptyNamespaces('restore', values['empty-ns']),
    consoleSocket: values['console-socket'],
    detach: values.detach,
    warn: global.warn,
  };
  if (values.detach) {
    const restored = await restoreContainer(options);
    restored.release();
    if (values['pid-file']) writePidFile(values['pid-file'], restored.pid);
    return 0;
  }
  // Handlers go in before the container exists, so no early signal is lost.
  const signals = forwardSignals();
  try {
    const restored = await restoreContainer(options);
    if (values['pid-file']) writePidFile(values['pid-file'], restored.pid);
    signals.deliverTo(restored);
    return exitStatusCode(await restored.exited!);
  } finally {
    signals.stop();
  }
}

/** Where the command line keeps CRIU's version between commands: its cache directory's criu/. */
function criuVersionFile(): string | undefined {
  const dir = cacheDir('criu');
  return dir && ownDirectory(dir) ? join(dir, 'version.json') : undefined;
}
