import type { CommandTable } from '../main.js';

/** Every command, each module loaded only when its command runs: the command line as a library. */
export const COMMANDS: Required<CommandTable> = {
  create: async () => (await import('./lifecycle.js')).create,
  start: async () => (await import('./lifecycle.js')).start,
  state: async () => (await import('./lifecycle.js')).state,
  kill: async () => (await import('./lifecycle.js')).kill,
  delete: async () => (await import('./lifecycle.js')).remove,
  list: async () => (await import('./lifecycle.js')).list,
  pause: async () => (await import('./lifecycle.js')).pause,
  resume: async () => (await import('./lifecycle.js')).resume,
  run: async () => (await import('./run.js')).run,
  exec: async () => (await import('./exec.js')).exec,
  update: async () => (await import('./resources.js')).update,
  events: async () => (await import('./resources.js')).events,
  ps: async () => (await import('./info.js')).ps,
  checkpoint: async () => (await import('./checkpoint.js')).checkpoint,
  restore: async () => (await import('./checkpoint.js')).restore,
  features: async () => (await import('./info.js')).features,
  spec: async () => (await import('./spec.js')).spec,
};
