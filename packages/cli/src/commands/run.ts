import { constants } from 'node:os';

import { Container, type RunningContainer, runContainer } from '@corral/core';
import { exitStatusCode } from '@corral/native';

import { containerIdArgument, parseCommandArgs, passedDescriptors } from '../args.js';
import type { GlobalOptions } from '../global.js';
import { writePidFile } from './lifecycle.js';

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
    'pidfd-socket': { type: 'string' },
    'preserve-fds': { type: 'string' },
    keep: { type: 'boolean' },
    'no-subreaper': { type: 'boolean' },
  });
  const id = containerIdArgument('run', positionals);
  const passed = passedDescriptors(values['preserve-fds']);
  if (values.detach) {
    const options = {
      id,
      bundle: values.bundle,
      root: global.root,
      noPivot: values['no-pivot'],
      consoleSocket: values['console-socket'],
      pidfdSocket: values['pidfd-socket'],
      preserveFds: passed.count,
      extraEnv: passed.env,
    };
    const created = await Container.create(options);
    if (values['pid-file']) writePidFile(values['pid-file'], (await created.state()).pid);
    await created.start({ warn: global.warn });
    return 0;
  }

  // Handlers go in before the container exists: a signal that arrives while it starts is
  // held and delivered once there is a process to take it, never lost and never fatal to us.
  let container: RunningContainer | undefined;
  const pending: number[] = [];
  const deliver = (signal: number) => {
    try {
      container?.signal(signal);
    } catch {
      // The process has just exited: nothing left to signal.
    }
  };
  const forward = (name: NodeJS.Signals) => {
    const signal = constants.signals[name];
    if (container) deliver(signal);
    else pending.push(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  try {
    container = await runContainer({
      id,
      bundle: values.bundle,
      root: global.root,
      noPivot: values['no-pivot'],
      consoleSocket: values['console-socket'],
      pidfdSocket: values['pidfd-socket'],
      preserveFds: passed.count,
      extraEnv: passed.env,
      warn: global.warn,
    });
    if (values['pid-file']) writePidFile(values['pid-file'], container.pid);
    for (const signal of pending.splice(0)) deliver(signal);
    return exitStatusCode(await container.exited);
  } finally {
    for (const signal of FORWARDED) process.off(signal, forward);
  }
}
