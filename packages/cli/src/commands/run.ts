import { Container, runContainer } from '@corral/core';
import { exitStatusCode } from '@corral/native';

import { containerIdArgument, parseCommandArgs } from '../args.js';
import type { GlobalOptions } from '../global.js';
import { forwardSignals } from '../signals.js';
import { ourTerminalSize, waitRelaying } from '../terminal.js';
import { createOptions, writePidFile } from './lifecycle.js';

export async function run(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', args);
  const id = containerIdArgument('run', positionals);
  const options = {
    ...createOptions(id, values, global),
    consoleSize: values.detach ? undefined : ourTerminalSize(),
    keep: values.keep,
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
