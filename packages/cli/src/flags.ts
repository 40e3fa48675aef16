/**
 * Every flag of the command line, defined once. The parsers read these tables (`type`, `short`,
 * `multiple` and `default` are what node:util's parseArgs takes), and so do `corral help`, the
 * manual pages and the shell completions: none of them can list a flag the parser lacks.
 */

/** One flag. */
export interface Flag {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  readonly default?: string;
  /** What the flag does, in one line. */
  readonly help: string;
  /** The value's name in the manual pages: `DIR`, `FILE`, `N`. */
  readonly value?: string;
  /** What completion offers for the value: these words, or file or directory names. */
  readonly complete?: readonly string[] | 'file' | 'directory';
  /** Where corral does not do what runc does with this flag. */
  readonly unlikeRunc?: string;
}

/** One command: its one-line summary, its arguments, what it does and its flags. */
export interface Command {
  readonly summary: string;
  /** The arguments after the flags, as USAGE shows them. */
  readonly arguments: string;
  readonly description: string;
  readonly flags: Readonly<Record<string, Flag>>;
}

const CONTAINER_ID = '<container-id>';

const BUNDLE = {
  type: 'string',
  short: 'b',
  default: '.',
  value: 'DIR',
  complete: 'directory',
  help: 'the bundle: the directory that holds config.json and the root filesystem',
} as const;

const CONSOLE_SOCKET = {
  type: 'string',
  value: 'PATH',
  complete: 'file',
  help: "an AF_UNIX socket that receives the master end of the process's pseudoterminal",
} as const;

const PIDFD_SOCKET = {
  type: 'string',
  value: 'PATH',
  complete: 'file',
  help: 'an AF_UNIX socket that receives a pidfd of the process',
} as const;

const PID_FILE = {
  type: 'string',
  value: 'FILE',
  complete: 'file',
  help: "write the process's pid to FILE (written whole, then renamed into place)",
} as const;

const PRESERVE_FDS = {
  type: 'string',
  value: 'N',
  help: 'pass N more descriptors from 3 on to the process (after those of $LISTEN_FDS)',
} as const;

const NO_PIVOT = {
  type: 'boolean',
  help: 'enter the root filesystem with chroot instead of pivot_root (for a rootfs on a ramdisk)',
} as const;

const DETACH = {
  type: 'boolean',
  short: 'd',
  help: 'return once the process runs instead of waiting for it',
} as const;

const NO_SUBREAPER = {
  type: 'boolean',
  help: 'accepted as runc takes it',
  unlikeRunc: 'nothing to turn off: corral is never a subreaper',
} as const;

const FORMAT = {
  type: 'string',
  short: 'f',
  default: 'table',
  value: 'FORMAT',
  complete: ['table', 'json'],
  help: 'table or json',
} as const;

/** The flags `create` and `run` share. */
const CREATE_FLAGS = {
  bundle: BUNDLE,
  'no-pivot': NO_PIVOT,
  'no-new-keyring': {
    type: 'boolean',
    help: "keep the caller's session keyring instead of giving the container one of its own",
  },
  'pid-file': PID_FILE,
  'console-socket': CONSOLE_SOCKET,
  'pidfd-socket': PIDFD_SOCKET,
  'preserve-fds': PRESERVE_FDS,
} as const;

/** The flags `checkpoint` and `restore` share, passed on to CRIU. */
const CRIU_FLAGS = {
  'image-path': {
    type: 'string',
    value: 'DIR',
    complete: 'directory',
    help: "CRIU's image directory (default: ./checkpoint)",
  },
  'work-path': {
    type: 'string',
    value: 'DIR',
    complete: 'directory',
    help: 'where CRIU writes its log and work files (default: the image directory)',
  },
  'tcp-established': { type: 'boolean', help: 'take established TCP connections along' },
  'ext-unix-sk': { type: 'boolean', help: 'allow unix sockets connected to a peer outside the container' },
  'shell-job': { type: 'boolean', help: "allow a process attached to the caller's terminal" },
  'file-locks': { type: 'boolean', help: 'take file locks along' },
  'manage-cgroups-mode': {
    type: 'string',
    value: 'MODE',
    complete: ['soft', 'full', 'strict', 'ignore'],
    help: 'how CRIU treats the cgroups: soft (the default), full, strict or ignore',
  },
  'empty-ns': {
    type: 'string',
    value: 'NAMESPACE',
    complete: ['network'],
    help: "make the namespace but leave its contents out (only network: the caller's hooks set it up)",
  },
  'auto-dedup': { type: 'boolean', help: 'free memory pages from the images as they are used' },
  'lazy-pages': {
    type: 'boolean',
    help: 'post-copy: memory pages are fetched by userfaultfd when first touched',
  },
} as const;

/** Flags before the command. */
export const GLOBAL_FLAGS = {
  debug: {
    type: 'boolean',
    help: "write what the runtime does, step by step (corral-init's reports among it), to the log",
  },
  log: {
    type: 'string',
    value: 'FILE',
    complete: 'file',
    help: 'also write errors and warnings to FILE (default: standard error only)',
  },
  'log-format': {
    type: 'string',
    default: 'text',
    value: 'FORMAT',
    complete: ['text', 'json'],
    help: 'text or json',
  },
  root: {
    type: 'string',
    default: '/run/corral',
    value: 'DIR',
    complete: 'directory',
    help: 'where the state of containers is kept (best on a tmpfs); $XDG_RUNTIME_DIR/corral for a user',
    unlikeRunc:
      "the default is /run/corral (runc's is /run/runc), so neither sees the other's containers; a root that is a symbolic link, another user's or writable by others is refused",
  },
  criu: {
    type: 'string',
    value: 'PATH',
    complete: 'file',
    help: 'the criu binary for checkpoint and restore (default: $CORRAL_CRIU, else criu on PATH)',
  },
  'systemd-cgroup': {
    type: 'boolean',
    help: 'place containers with systemd (cgroupsPath as slice:prefix:name)',
    unlikeRunc: 'an empty cgroupsPath makes corral-ID.scope (runc-ID.scope with runc)',
  },
  rootless: {
    type: 'string',
    default: 'auto',
    value: 'WHEN',
    complete: ['true', 'false', 'auto'],
    help: 'true, false or auto: whether to ignore cgroup permission errors (auto: when not root, or in a user namespace)',
  },
  help: { type: 'boolean', short: 'h', help: 'show help' },
  version: { type: 'boolean', short: 'v', help: 'print the version' },
} as const satisfies Record<string, Flag>;

/** The commands in the order `corral help` lists them (runc's). */
export const COMMANDS = {
  checkpoint: {
    summary: 'checkpoint a running container with CRIU',
    arguments: CONTAINER_ID,
    description:
      'Dumps the container with CRIU into the image directory, then deletes it unless --leave-running is given. The images and the bundle are all a restore needs.',
    flags: {
      ...CRIU_FLAGS,
      'parent-path': {
        type: 'string',
        value: 'DIR',
        complete: 'directory',
        help: 'an earlier pre-dump, relative to the image directory: only pages changed since are written',
      },
      'leave-running': { type: 'boolean', help: 'leave the container running once it is dumped' },
      'pre-dump': {
        type: 'boolean',
        help: 'write only the memory and leave the container running (needs CONFIG_MEM_SOFT_DIRTY)',
      },
      'page-server': {
        type: 'string',
        value: 'ADDRESS:PORT',
        help: 'send the memory to a CRIU page server there (an IPv6 address in brackets)',
      },
      'status-fd': {
        type: 'string',
        value: 'FD',
        help: 'with --lazy-pages: write one zero byte to descriptor FD, then close it, once the memory is served',
      },
      'tcp-skip-in-flight': {
        type: 'boolean',
        help: 'leave out TCP connections not yet accepted instead of failing',
      },
      'link-remap': {
        type: 'boolean',
        help: 'dump files that are open but unlinked through a temporary link',
      },
    },
  },
  create: {
    summary: 'create a container that waits for start',
    arguments: CONTAINER_ID,
    description:
      'Creates the container from the bundle: namespaces, cgroups, mounts and the rest of config.json. Its process waits at the exec FIFO until `corral start`.',
    flags: CREATE_FLAGS,
  },
  delete: {
    summary: 'delete a stopped container and everything it holds',
    arguments: CONTAINER_ID,
    description:
      'Removes the container: its processes, cgroups, mounts, network devices and state directory. A running container is refused unless --force is given.',
    flags: {
      force: {
        type: 'boolean',
        short: 'f',
        help: 'kill the container first if it runs (SIGKILL); a container that is not there is no error',
      },
    },
  },
  events: {
    summary: 'print statistics and OOM events of a container as JSON lines',
    arguments: CONTAINER_ID,
    description:
      "Prints the container's statistics every interval and an oom event each time its memory runs out, until the container stops.",
    flags: {
      interval: {
        type: 'string',
        default: '5s',
        value: 'DURATION',
        help: 'time between two statistics (ms, s or m)',
      },
      stats: { type: 'boolean', help: 'print the statistics once and exit' },
    },
  },
  exec: {
    summary: 'run another process in a running container',
    arguments: `${CONTAINER_ID} <command> [args...] | -p process.json ${CONTAINER_ID}`,
    description:
      "Runs a process inside the container's namespaces and cgroups, with its process settings changed by the flags, or as -p describes it. The flags end at the container id: what follows is the command and its own arguments.",
    flags: {
      'console-socket': CONSOLE_SOCKET,
      'pidfd-socket': PIDFD_SOCKET,
      cwd: { type: 'string', value: 'DIR', help: 'the working directory inside the container' },
      env: {
        type: 'string',
        short: 'e',
        multiple: true,
        value: 'NAME=VALUE',
        help: "add to the process's environment",
      },
      tty: { type: 'boolean', short: 't', help: 'give the process a pseudoterminal' },
      user: { type: 'string', short: 'u', value: 'UID[:GID]', help: 'the user and group ids' },
      'additional-gids': {
        type: 'string',
        short: 'g',
        multiple: true,
        value: 'GID',
        help: 'supplementary group ids (repeat, or separate with commas)',
      },
      process: {
        type: 'string',
        short: 'p',
        value: 'FILE',
        complete: 'file',
        help: 'the whole process as runtime-spec JSON (- reads standard input)',
      },
      detach: DETACH,
      'pid-file': PID_FILE,
      'process-label': {
        type: 'string',
        value: 'LABEL',
        help: "the process's SELinux label",
        unlikeRunc: 'refused, as corral applies no LSM labels',
      },
      apparmor: {
        type: 'string',
        value: 'PROFILE',
        help: "the process's AppArmor profile",
        unlikeRunc: 'refused, as corral applies no LSM labels',
      },
      'no-new-privs': { type: 'boolean', help: 'set no_new_privs for the process' },
      cap: {
        type: 'string',
        short: 'c',
        multiple: true,
        value: 'CAP_NAME',
        help: 'add a capability to every set but the inheritable one',
      },
      'preserve-fds': PRESERVE_FDS,
      cgroup: {
        type: 'string',
        multiple: true,
        value: '[CONTROLLER:]PATH',
        help: "run in an existing sub-cgroup of the container's cgroup",
      },
      'ignore-paused': { type: 'boolean', help: 'exec even when the container is paused' },
    },
  },
  kill: {
    summary: "send a signal to a container's init (default SIGTERM)",
    arguments: `${CONTAINER_ID} [signal]`,
    description: 'Sends the signal, by name (KILL, SIGKILL) or number, through a pidfd of the init process.',
    flags: {
      all: {
        type: 'boolean',
        short: 'a',
        help: "send the signal to every process in the container's cgroup",
      },
    },
  },
  list: {
    summary: 'list the containers under the state root',
    arguments: '',
    description: 'Lists every container under --root with its pid, status, bundle, creation time and owner.',
    flags: {
      format: FORMAT,
      quiet: { type: 'boolean', short: 'q', help: 'print only the container ids' },
    },
  },
  pause: {
    summary: 'freeze every process of a container',
    arguments: CONTAINER_ID,
    description: "Freezes the container's cgroup and returns once every process in it is frozen.",
    flags: {},
  },
  ps: {
    summary: "show a container's processes",
    arguments: `${CONTAINER_ID} [ps options]`,
    description:
      "Runs the host's ps (with -ef unless ps options follow the id) and keeps the lines of the container's processes.",
    flags: { format: FORMAT },
  },
  restore: {
    summary: 'restore a container from a checkpoint',
    arguments: CONTAINER_ID,
    description:
      'Brings a checkpointed container back with CRIU, under the same id or a new one, from the bundle it was created from or a copy of it.',
    flags: {
      ...CRIU_FLAGS,
      bundle: BUNDLE,
      detach: DETACH,
      'pid-file': PID_FILE,
      'no-subreaper': NO_SUBREAPER,
      'no-pivot': {
        type: 'boolean',
        help: 'accepted as runc takes it: CRIU enters the root filesystem itself',
      },
      'console-socket': CONSOLE_SOCKET,
      'lsm-profile': {
        type: 'string',
        value: 'TYPE:LABEL',
        help: 'the LSM profile to restore the process with',
        unlikeRunc: 'refused, as corral applies no LSM labels',
      },
      'lsm-mount-context': {
        type: 'string',
        value: 'CONTEXT',
        help: 'the SELinux context of the mounts',
        unlikeRunc: 'refused, as corral applies no LSM labels',
      },
    },
  },
  resume: {
    summary: 'thaw a paused container',
    arguments: CONTAINER_ID,
    description: "Thaws the container's cgroup.",
    flags: {},
  },
  run: {
    summary: 'create a container and run it',
    arguments: CONTAINER_ID,
    description:
      'Creates the container and starts it at once. In the foreground corral relays signals to it, gives it a pseudoterminal relayed to its own when config.json asks for a terminal and no --console-socket is given, exits with its exit status, and deletes it.',
    flags: {
      ...CREATE_FLAGS,
      detach: DETACH,
      keep: { type: 'boolean', help: 'keep the container once it exits (delete it later)' },
      'no-subreaper': NO_SUBREAPER,
    },
  },
  spec: {
    summary: 'write a new config.json',
    arguments: '',
    description:
      "Writes runc's default config.json into the bundle directory: sh as the process with a terminal, new pid, network, ipc, uts and mount namespaces, and runc's mounts, masked and read-only paths. An existing config.json is never overwritten.",
    flags: {
      bundle: { ...BUNDLE, help: 'the directory to write config.json into' },
      rootless: { type: 'boolean', help: "write runc's configuration for a rootless container instead" },
    },
  },
  start: {
    summary: 'start the process of a created container',
    arguments: CONTAINER_ID,
    description: 'Opens the exec FIFO so the process of a created container goes on to exec.',
    flags: {},
  },
  state: {
    summary: "print a container's state as JSON",
    arguments: CONTAINER_ID,
    description:
      "Prints the runtime-spec state: id, status, pid, bundle, annotations, and runc's extra fields.",
    flags: {},
  },
  update: {
    summary: "change a container's resource limits",
    arguments: CONTAINER_ID,
    description:
      'Changes the cgroup limits of a running container, from the flags or from a JSON file of linux.resources (-r). Sizes take k, m, g and t suffixes.',
    flags: {
      resources: {
        type: 'string',
        short: 'r',
        value: 'FILE',
        complete: 'file',
        help: 'the resources as linux.resources JSON (- reads standard input)',
      },
      'blkio-weight': { type: 'string', value: 'N', help: 'block I/O weight, 10 to 1000' },
      'cpu-period': { type: 'string', value: 'US', help: 'CFS period in microseconds' },
      'cpu-quota': { type: 'string', value: 'US', help: 'CFS quota in microseconds per period' },
      'cpu-burst': { type: 'string', value: 'US', help: 'CFS burst in microseconds' },
      'cpu-share': { type: 'string', value: 'N', help: 'CPU shares (a relative weight)' },
      'cpu-rt-period': { type: 'string', value: 'US', help: 'realtime period in microseconds' },
      'cpu-rt-runtime': { type: 'string', value: 'US', help: 'realtime runtime in microseconds per period' },
      'cpu-idle': { type: 'string', value: '0|1', help: 'the SCHED_IDLE policy for the cgroup' },
      'cpuset-cpus': { type: 'string', value: 'LIST', help: 'CPUs the container may use (0-3,5)' },
      'cpuset-mems': { type: 'string', value: 'LIST', help: 'memory nodes the container may use' },
      memory: { type: 'string', value: 'SIZE', help: 'memory limit' },
      'memory-reservation': { type: 'string', value: 'SIZE', help: 'memory soft limit' },
      'memory-swap': { type: 'string', value: 'SIZE', help: 'memory plus swap limit' },
      'pids-limit': { type: 'string', value: 'N', help: 'most processes at once' },
      'kernel-memory': {
        type: 'string',
        value: 'SIZE',
        help: 'kernel memory limit',
        unlikeRunc: 'refused, as Linux 6.1 and later ignore it',
      },
      'kernel-memory-tcp': {
        type: 'string',
        value: 'SIZE',
        help: 'kernel TCP buffer limit',
        unlikeRunc: 'refused, as Linux 6.1 and later ignore it',
      },
      'l3-cache-schema': {
        type: 'string',
        value: 'SCHEMA',
        help: 'Intel RDT L3 cache schema',
        unlikeRunc: 'refused, as corral has no Intel RDT support',
      },
      'mem-bw-schema': {
        type: 'string',
        value: 'SCHEMA',
        help: 'Intel RDT memory bandwidth schema',
        unlikeRunc: 'refused, as corral has no Intel RDT support',
      },
    },
  },
  features: {
    summary: 'print what this runtime supports as JSON',
    arguments: '',
    description:
      "Prints the runtime-spec features document: namespaces, capabilities, mount options, seccomp's actions and more.",
    flags: {},
  },
} as const satisfies Record<string, Command>;

export type CommandName = keyof typeof COMMANDS;

/** The flags of one command, as its parser takes them. */
export const COMMAND_FLAGS: { readonly [name in CommandName]: (typeof COMMANDS)[name]['flags'] } =
  Object.fromEntries(Object.entries(COMMANDS).map(([name, command]) => [name, command.flags])) as never;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}
