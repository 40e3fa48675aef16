import { constants } from 'node:os';

// The signals a foreground run or exec passes on to its process, as runc does.
const FORWARDED: NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
];

/**
 * Catches the forwarded signals from now on. Until `deliverTo` names the process, a signal is
 * held, never lost and never fatal to corral; then it and later ones go to the process.
 * `stop` removes the handlers.
 */
export function forwardSignals(): { deliverTo(target: { signal(n: number): void }): void; stop(): void } {
  let target: { signal(n: number): void } | undefined;
  const pending: number[] = [];
  const deliver = (signal: number) => {
    try {
      target?.signal(signal);
    } catch {
      // The process has just exited: nothing left to signal.
    }
  };
  const onSignal = (name: NodeJS.Signals) => {
    const signal = constants.signals[name];
    if (target) deliver(signal);
    else pending.push(signal);
  };
  for (const name of FORWARDED) process.on(name, onSignal);
  return {
    deliverTo(process) {
      target = process;
      for (const signal of pending.splice(0)) deliver(signal);
    },
    stop() {
      for (const name of FORWARDED) process.off(name, onSignal);
    },
  };
}
