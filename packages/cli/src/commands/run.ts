import { Container, runContainer } from '@corral/core';
import { exitStatusCode } from '@corral/native';

import { containerIdArgument, parseCommandArgs, passedDescriptors } from '../args.js';
import type { GlobalOptions } from '../global.js';
import { forwardSignals } from '../signals.js';
import { ourTerminalSize, waitRelaying } from '../terminal.js';
import { writePidFile } from './lifecycle.js';

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
  const options = {
    id,
    bundle: values.bundle,
    root: global.root,
    noPivot: values['no-pivot'],
    noNewKeyring: values['no-new-keyring'],
    consoleSocket: values['console-socket'],
    pidfdSocket: values['pidfd-socket'],
    preserveFds: passed.count,
    extraEnv: passed.env,
    consoleSize: values.detach ? undefined : ourTerminalSize(),
    keep: values.keep,
    notifySocket: process.env.NOTIFY_SOCKET || undefined,
    warn: global.warn,
  };
  if (values.detach) {
    const created = await Container.create(options);
    if (values['pid-file']) writePidFile(values['pid-file'], (await created.state()).pid);
    await created.start({ warn: global.warn, notifySocket: options.notifySocket });
    return 0;
  }

  // Handlers go in before the container exists, so no early signal is lost.
  const signals = forwardSignals();
  try {
    const container = await runContainer(options);
    if (values['pid-file']) writePidFile(values['pid-file'], container.pid);
    signals.deliverTo(container);
    return exitStatusCode(await waitRelaying(container.console, container.exited));
  } finally {
    signals.stop();
  }
}
