import { constants } from 'node:os';

import { createWaitingContainer, runContainer, startContainer } from '@corral/core';
import { exitStatusCode } from '@corral/native';

import { containerIdArgument, parseCommandArgs } from '../args.js';
import type { GlobalOptions } from '../global.js';
import { forwardSignals } from '../signals.js';
import { ourTerminalSize, waitRelaying } from '../terminal.js';
import { createOptions, writePidFile, writePidFileOrDelete } from './lifecycle.js';

export async function run(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', args);
  const id = containerIdArgument('run', positionals);
  const options = {
    ...createOptions(id, values, global),
    consoleSize: values.detach ? undefined : ourTerminalSize(),
    keep: values.keep,
  };
  if (values.detach) {
    const created = await createWaitingContainer(options);
    if (values['pid-file']) await writePidFileOrDelete(created, values['pid-file'], global);
    await startContainer(created, {
      warn: global.warn,
      debug: global.logDebug,
      notifySocket: options.notifySocket,
    });
    return 0;
  }

  // Handlers go in before the container exists, so no early signal is lost.
  const signals = forwardSignals();
  try {
    const container = await runContainer(options);
    if (values['pid-file']) {
      try {
        writePidFile(values['pid-file'], container.pid);
      } catch (error) {
        // As runc: the container goes (a run that is not kept deletes it once it exits).
        container.signal(constants.signals.SIGKILL);
        await container.exited;
        throw error;
      }
    }
    signals.deliverTo(container);
    return exitStatusCode(await waitRelaying(container.console, container.exited));
  } finally {
    signals.stop();
  }
}
