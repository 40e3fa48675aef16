/** RLIMIT_* numbers from asm-generic/resource.h (x86_64 and arm64 share them). */
const NAMES = [
  'CPU',
  'FSIZE',
  'DATA',
  'STACK',
  'CORE',
  'RSS',
  'NPROC',
  'NOFILE',
  'MEMLOCK',
  'AS',
  'LOCKS',
  'SIGPENDING',
  'MSGQUEUE',
  'NICE',
  'RTPRIO',
  'RTTIME',
];

export const RLIMITS: ReadonlyMap<string, number> = new Map(NAMES.map((name, n) => [`RLIMIT_${name}`, n]));
