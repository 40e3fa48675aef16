import { setTimeout as sleep } from 'node:timers/promises';

import { setWindowSize, windowSize } from '@corral/native';

/**
 * Shows a container's terminal on corral's own stdio, as runc does for a foreground `run` or
 * `exec` with process.terminal and no --console-socket: our terminal goes raw so keys reach
 * the container untouched, input goes to the pty master, its output to our stdout, and the
 * pty follows our window size.
 */
async function relayTerminal(master: number): Promise<{ finished: Promise<void>; stop(): void }> {
  // Loaded only here: node:tty brings the stream and net modules, which a run without a
  // terminal to relay does not need. Not with import(): the command's bundle runs as a script.
  const { ReadStream } = process.getBuiltinModule('node:tty');
  const pty = new ReadStream(master);
  const stdin = process.stdin;
  const stdout = process.stdout;
  const raw = stdin.isTTY && !stdin.isRaw;
  if (raw) stdin.setRawMode(true);
  const resize = () => {
    if (stdout.isTTY) setWindowSize(master, stdout.rows, stdout.columns);
  };
  resize();
  stdout.on('resize', resize);
  const input = (chunk: Buffer) => pty.write(chunk);
  stdin.on('data', input);
  pty.on('data', (chunk: Buffer) => stdout.write(chunk));
  // The master reads EIO once the last holder of the pty's other side has gone: the end.
  const finished = new Promise<void>((resolve) => {
    pty.once('end', resolve);
    pty.once('error', () => resolve());
    pty.once('close', resolve);
  });
  return {
    finished,
    stop() {
      stdin.off('data', input);
      stdin.pause();
      if (raw) stdin.setRawMode(false);
      stdout.off('resize', resize);
      pty.destroy();
    },
  };
}

/**
 * The size of the terminal corral's output goes to, if it goes to one: asked of the descriptor,
 * so that a run whose output is not a terminal never makes process.stdout.
 */
export function ourTerminalSize(): { height: number; width: number } | undefined {
  const size = windowSize(1);
  return size ? { height: size.rows, width: size.columns } : undefined;
}

// How long output still in the pty may take to come out once the process has exited; a
// process that left a child holding the terminal does not keep corral waiting past it.
const DRAIN_MS = 500;

/** Waits for the process, relaying its terminal meanwhile when it has one. */
export async function waitRelaying<T>(master: number | undefined, exited: Promise<T>): Promise<T> {
  if (master === undefined) return exited;
  const relay = await relayTerminal(master);
  try {
    const status = await exited;
    await Promise.race([relay.finished, sleep(DRAIN_MS, undefined, { ref: false })]);
    return status;
  } finally {
    relay.stop();
  }
}
