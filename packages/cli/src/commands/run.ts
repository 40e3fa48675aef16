import { constants } from 'node:os';

import { runContainer } from '@corral/core';
import { exitStatusCode } from '@corral/native';

import { containerIdArgument, parseCommandArgs, UsageError } from '../args.js';
import type { GlobalOptions } from '../global.js';

// Signals a foreground `run` passes on to the container, as runc does.
const FORWARDED: NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
];

export async function run(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', args, {
    bundle: { type: 'string', short: 'b', default: '.' },
    detach: { type: 'boolean', short: 'd' },
    'no-pivot': { type: 'boolean' },
    'no-new-keyring': { type: 'boolean' },
    'pid-file': { type: 'string' },
    'console-socket': { type: 'string' },
    'preserve-fds': { type: 'string' },
    keep: { type: 'boolean' },
  });
  const id = containerIdArgument('run', positionals);
  if (values.detach) throw new UsageError('run: --detach is not supported yet');
  if (values['console-socket']) throw new UsageError('run: --console-socket is not supported yet');

  const container = await runContainer({
    id,
    bundle: values.bundle,
    root: global.root,
    noPivot: values['no-pivot'],
  });
  const forward = (signal: NodeJS.Signals) => {
    try {
      container.signal(constants.signals[signal]);
    } catch {
      // The process has just exited: nothing left to signal.
    }
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  try {
    return exitStatusCode(await container.exited);
  } finally {
    for (const signal of FORWARDED) process.off(signal, forward);
  }
}
