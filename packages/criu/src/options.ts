import { CriuOptionError } from './errors.js';
import type { criu } from './generated/rpc.js';

/** How much CRIU writes to its log: 0 nothing, 1 errors, 2 warnings (CRIU's default), 3 info, 4 debug. */
export type CriuLogLevel = 0 | 1 | 2 | 3 | 4;

/** What CRIU does with cgroups (CRIU's --manage-cgroups modes). */
export type CgroupMode = 'ignore' | 'none' | 'props' | 'soft' | 'full' | 'strict' | 'default';

/** Namespaces CRIU can restore empty instead of from the images; CRIU supports only `net`. */
export type EmptyNamespace = 'net';

export interface PageServerAddress {
  /** Address to connect to (dump) or listen on (page server); all addresses when omitted. */
  address?: string;
  port: number;
  /** A connected socket to use instead of an address; it is handed to criu when it starts. */
  fd?: number;
}

/** A descriptor of this process that criu uses for a resource recorded under `key` (`pipe:[1234]`). */
export interface InheritedFd {
  key: string;
  fd: number;
}

export interface VethPair {
  /** The device's name inside the restored network namespace. */
  inside: string;
  /** The name of its peer outside. */
  outside: string;
}

export interface CgroupRootMapping {
  /**
   * A v1 controller (`memory`, `cpu,cpuacct`), `''` for the v2 hierarchy beside v1 ones (CRIU's
   * name for it), or every hierarchy when omitted.
   */
  controller?: string;
  path: string;
}

/**
 * Options shared by dump, pre-dump, restore and the page server, named after CRIU's
 * command-line options in camelCase. Paths are in this process's view of the file system.
 */
export interface CriuBaseOptions {
  /** Where the images are written or read. */
  imagesDir: string;
  /** Where CRIU writes its log and other files; the client's workDir, else imagesDir. */
  workDir?: string;
  /** Log verbosity; the client's logLevel when omitted. */
  logLevel?: CriuLogLevel;
  /** Log file name inside workDir (no slashes); `<request>.log` when omitted. */
  logFile?: string;
  /** A descriptor of this process that CRIU writes a byte to when it is ready (page server, lazy pages). */
  statusFd?: number;
  /** Stop waiting for the tree to freeze after this many seconds. */
  timeout?: number;
  /** Extra CRIU configuration file whose settings take precedence. */
  configFile?: string;
  /** Resources that are not part of the dump (CRIU's --external), passed through as written. */
  external?: string[];
}

export interface CriuDumpOptions extends CriuBaseOptions {
  /** Root of the process tree to dump. */
  pid: number;
  /** An earlier pre-dump's image directory, relative to imagesDir (`../pre`); only changed pages are written. */
  parentImage?: string;
  /** Keep the tree running after the dump. */
  leaveRunning?: boolean;
  /** Allow a tree that is a shell job (session or process group leader outside the tree). */
  shellJob?: boolean;
  /** Allow a pty whose master is outside the tree (a container's terminal); restore makes a new one. */
  orphanPtsMaster?: boolean;
  /** Namespaces whose contents are left out (their devices, addresses, routes); restore them empty. */
  emptyNamespaces?: EmptyNamespace[];
  /** Dump established TCP connections. */
  tcpEstablished?: boolean;
  /** Dump connections that are in flight by skipping them. */
  tcpSkipInFlight?: boolean;
  /** Allow connections to external unix sockets. */
  extUnixSk?: boolean;
  /** Dump file locks. */
  fileLocks?: boolean;
  /** Allow dumping of open files that were unlinked (link remap). */
  linkRemap?: boolean;
  /** Replace unreachable device files by their paths. */
  evasiveDevices?: boolean;
  /** true is CRIU's `soft` mode; a string picks the mode. */
  manageCgroups?: boolean | CgroupMode;
  /** Freeze the tree with this cgroup's freezer instead of ptrace. */
  freezeCgroup?: string;
  /** External bind mounts: mount point inside the tree -> key recorded in the images. */
  externalMounts?: Record<string, string>;
  /** The root the tree sees, when it runs in its own mount namespace. */
  root?: string;
  /** Send pages to a page server instead of writing them. */
  pageServer?: PageServerAddress;
  /** Punch the pages that the parent image already has out of it (saves space). */
  autoDedup?: boolean;
  /** Track memory changes so that a later dump writes only what changed. */
  trackMem?: boolean;
  /** Leave memory to be fetched on demand by a lazy restore (needs pageServer.port). */
  lazyPages?: boolean;
  /** Ask CRIU to skip ghost files larger than this (bytes). */
  ghostLimit?: number;
  /** Mount points to skip. */
  skipMounts?: string[];
  /** File systems to dump by content (`all` for every one). */
  enableFs?: string[];
  /** Pre-dump only: how memory is read (`splice` is CRIU's default). */
  preDumpMode?: 'splice' | 'read';
}

export interface CriuRestoreOptions extends CriuBaseOptions {
  /** Restore as a shell job (into this process's session). */
  shellJob?: boolean;
  tcpEstablished?: boolean;
  /** Close restored TCP connections instead of restoring them. */
  tcpClose?: boolean;
  extUnixSk?: boolean;
  fileLocks?: boolean;
  /** Punch each page out of the images once it is restored (saves space; the images are used up). */
  autoDedup?: boolean;
  linkRemap?: boolean;
  evasiveDevices?: boolean;
  manageCgroups?: boolean | CgroupMode;
  /** Where to restore each controller's cgroups. */
  cgroupRoots?: CgroupRootMapping[];
  /** External bind mounts: key recorded at dump -> host path to mount. */
  externalMounts?: Record<string, string>;
  /** veth pairs to recreate. */
  vethPairs?: VethPair[];
  /** Descriptors of this process to use for resources recorded under a key. */
  inheritFds?: InheritedFd[];
  /** The root to restore into (a container's rootfs). */
  root?: string;
  /** Restore as a child of this process instead of detached (the caller then reaps it). */
  restoreSibling?: boolean;
  /** Restore with memory fetched on demand from a lazy-pages daemon. */
  lazyPages?: boolean;
  /** Hand the master of a restored orphan pty to the orphanPtsMaster notification. */
  orphanPtsMaster?: boolean;
  /** Namespaces to create empty instead of restoring. */
  emptyNamespaces?: EmptyNamespace[];
  /** LSM profile to restore with (`apparmor:name`, `selinux:context`). */
  lsmProfile?: string;
  /** Apply sysctls that cannot be set as warnings rather than errors. */
  weakSysctls?: boolean;
  /** Mount points to skip. */
  skipMounts?: string[];
  /** File systems restored by content. */
  enableFs?: string[];
}

export interface CriuPageServerOptions extends CriuBaseOptions {
  /** Where to listen; port 0 lets CRIU pick one and report it. */
  address?: string;
  port?: number;
  /** Store pages as lazy-pages input rather than plain images. */
  lazyPages?: boolean;
}

/** Where a lazy-pages daemon fetches the pages it hands to a lazy restore. */
export interface CriuLazyPagesOptions {
  /** The images of the lazy dump (everything but the lazy memory). */
  imagesDir: string;
  /**
   * Where the daemon puts its socket (`lazy-pages.socket`) and log: the restore must use the
   * same workDir to find it. The client's workDir, else imagesDir.
   */
  workDir?: string;
  /** The lazy dump's page server (the dump serves on its pageServer port); else pages come from imagesDir. */
  pageServer?: { address: string; port: number };
  /** Log verbosity; the client's logLevel when omitted. */
  logLevel?: CriuLogLevel;
  /** Log file name inside workDir (no slashes); `lazy-pages.log` when omitted. */
  logFile?: string;
}

/** The descriptor `criu lazy-pages` writes its readiness byte to (the 4th of its stdio). */
export const LAZY_PAGES_STATUS_FD = 3;

/**
 * The command line of `criu lazy-pages`: CRIU has no RPC request for it. Throws
 * CriuOptionError before anything is started.
 */
export function lazyPagesArgs(
  options: CriuLazyPagesOptions,
  resolved: { imagesDir: string; workDir: string; logLevel: CriuLogLevel; logFile: string },
): string[] {
  if (typeof options !== 'object' || options === null)
    throw new CriuOptionError('options', 'expected an object');
  checkString('options.imagesDir', options.imagesDir);
  if (options.workDir !== undefined) checkString('options.workDir', options.workDir);
  if (options.logLevel !== undefined) checkLogLevel('options.logLevel', options.logLevel);
  if (options.logFile !== undefined) checkLogFile('options.logFile', options.logFile);
  const args = [
    'lazy-pages',
    '--images-dir',
    resolved.imagesDir,
    '--work-dir',
    resolved.workDir,
    '--log-file',
    options.logFile ?? resolved.logFile,
    `-v${options.logLevel ?? resolved.logLevel}`,
    '--status-fd',
    String(LAZY_PAGES_STATUS_FD),
  ];
  if (options.pageServer !== undefined) {
    const server = options.pageServer;
    if (typeof server !== 'object' || server === null)
      throw new CriuOptionError('options.pageServer', 'expected an object');
    checkString('options.pageServer.address', server.address);
    checkPort('options.pageServer.port', server.port);
    if (server.port === 0) {
      throw new CriuOptionError(
        'options.pageServer.port',
        'expected the port the lazy dump serves on, got 0',
      );
    }
    args.push('--page-server', '--address', server.address, '--port', String(server.port));
  }
  return args;
}

/** Descriptors the request refers to, already opened or mapped by the client. */
export interface RequestDescriptors {
  imagesDirFd: number;
  workDirFd: number;
  /** How a descriptor of this process is numbered inside criu (for inherit-fd and page server fd). */
  inCriu: (fd: number) => number;
}

const cgroupModes: Record<CgroupMode, number> = {
  ignore: 0,
  none: 1,
  props: 2,
  soft: 3,
  full: 4,
  strict: 5,
  default: 6,
};

const emptyNamespaceFlags: Record<EmptyNamespace, number> = { net: 0x40000000 };

const preDumpModes = { splice: 1, read: 2 } as const;

function checkPositiveInteger(option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 0x7fffffff) {
    throw new CriuOptionError(option, `expected a positive integer, got ${JSON.stringify(value)}`);
  }
}

function checkDescriptor(option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new CriuOptionError(option, `expected a file descriptor, got ${JSON.stringify(value)}`);
  }
}

function checkString(option: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw new CriuOptionError(option, `expected a non-empty string, got ${JSON.stringify(value)}`);
  }
}

function checkPort(option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new CriuOptionError(option, `expected a port number 0-65535, got ${JSON.stringify(value)}`);
  }
}

/** Checks what every request shares; throws CriuOptionError naming the option. */
export function validateBaseOptions(options: CriuBaseOptions, prefix = 'options'): void {
  if (typeof options !== 'object' || options === null) {
    throw new CriuOptionError(prefix, 'expected an object');
  }
  checkString(`${prefix}.imagesDir`, options.imagesDir);
  if (options.workDir !== undefined) checkString(`${prefix}.workDir`, options.workDir);
  if (options.logLevel !== undefined) checkLogLevel(`${prefix}.logLevel`, options.logLevel);
  if (options.logFile !== undefined) checkLogFile(`${prefix}.logFile`, options.logFile);
  if (options.statusFd !== undefined) checkDescriptor(`${prefix}.statusFd`, options.statusFd);
  if (options.timeout !== undefined) checkPositiveInteger(`${prefix}.timeout`, options.timeout);
  if (options.configFile !== undefined) checkString(`${prefix}.configFile`, options.configFile);
  options.external?.forEach((value, i) => {
    checkString(`${prefix}.external[${i}]`, value);
  });
}

export function checkLogLevel(option: string, value: unknown): asserts value is CriuLogLevel {
  if (value !== 0 && value !== 1 && value !== 2 && value !== 3 && value !== 4) {
    throw new CriuOptionError(option, `expected 0, 1, 2, 3 or 4, got ${JSON.stringify(value)}`);
  }
}

export function checkLogFile(option: string, value: unknown): void {
  checkString(option, value);
  if ((value as string).includes('/')) {
    throw new CriuOptionError(
      option,
      `must be a file name inside workDir, without '/': ${JSON.stringify(value)}`,
    );
  }
}

function cgroupMode(option: string, value: boolean | CgroupMode): Partial<criu.ICriuOpts> {
  if (typeof value === 'boolean') return { manageCgroups: value };
  const mode = cgroupModes[value];
  if (mode === undefined) {
    throw new CriuOptionError(
      option,
      `expected true, false or one of ${Object.keys(cgroupModes).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return { manageCgroups: true, manageCgroupsMode: mode };
}

function externalMounts(option: string, value: Record<string, string>): criu.ICriuOpts['extMnt'] {
  return Object.entries(value).map(([key, val]) => {
    checkString(`${option} key`, key);
    checkString(`${option}[${JSON.stringify(key)}]`, val);
    return { key, val };
  });
}

function stringList(option: string, value: string[]): string[] {
  if (!Array.isArray(value)) throw new CriuOptionError(option, 'expected an array of strings');
  value.forEach((item, i) => {
    checkString(`${option}[${i}]`, item);
  });
  return [...value];
}

/** Fields shared by every request: directories, log and the handful of common knobs. */
function baseOpts(
  options: CriuBaseOptions,
  fds: RequestDescriptors,
  logLevel: CriuLogLevel,
  logFile: string,
) {
  const opts: criu.ICriuOpts = {
    imagesDirFd: fds.imagesDirFd,
    workDirFd: fds.workDirFd,
    logLevel: options.logLevel ?? logLevel,
    logFile: options.logFile ?? logFile,
  };
  if (options.statusFd !== undefined) opts.statusFd = options.statusFd;
  if (options.timeout !== undefined) opts.timeout = options.timeout;
  if (options.configFile !== undefined) opts.configFile = options.configFile;
  if (options.external?.length) opts.external = [...options.external];
  return opts;
}

function pageServerInfo(option: string, value: PageServerAddress, fds: RequestDescriptors) {
  if (typeof value !== 'object' || value === null) throw new CriuOptionError(option, 'expected an object');
  checkPort(`${option}.port`, value.port);
  const ps: NonNullable<criu.ICriuOpts['ps']> = { port: value.port };
  if (value.address !== undefined) {
    checkString(`${option}.address`, value.address);
    ps.address = value.address;
  }
  if (value.fd !== undefined) {
    checkDescriptor(`${option}.fd`, value.fd);
    ps.fd = fds.inCriu(value.fd);
  }
  return ps;
}

/** Descriptors of this process that a set of options needs inside criu. */
export function descriptorsForCriu(options: CriuDumpOptions | CriuRestoreOptions): number[] {
  const fds: number[] = [];
  if ('pageServer' in options && options.pageServer?.fd !== undefined) fds.push(options.pageServer.fd);
  if ('inheritFds' in options && options.inheritFds) {
    for (const inherited of options.inheritFds) fds.push(inherited.fd);
  }
  return fds;
}

/** CRIU's empty_ns: the clone flags of the namespaces left empty. */
function emptyNamespaceMask(namespaces: EmptyNamespace[]): number {
  if (!Array.isArray(namespaces)) throw new CriuOptionError('options.emptyNamespaces', 'expected an array');
  let mask = 0;
  namespaces.forEach((ns, i) => {
    const flag = emptyNamespaceFlags[ns];
    if (flag === undefined) {
      throw new CriuOptionError(
        `options.emptyNamespaces[${i}]`,
        `CRIU can only leave 'net' empty, got ${JSON.stringify(ns)}`,
      );
    }
    mask |= flag;
  });
  return mask;
}

/** CriuOpts for a dump or pre-dump. Throws CriuOptionError before anything is started. */
export function dumpOpts(
  options: CriuDumpOptions,
  fds: RequestDescriptors,
  defaults: { logLevel: CriuLogLevel; logFile: string },
): criu.ICriuOpts {
  validateBaseOptions(options);
  checkPositiveInteger('options.pid', options.pid);
  const opts = baseOpts(options, fds, defaults.logLevel, defaults.logFile);
  opts.pid = options.pid;
  const flags = [
    'leaveRunning',
    'shellJob',
    'tcpEstablished',
    'tcpSkipInFlight',
    'extUnixSk',
    'fileLocks',
    'linkRemap',
    'evasiveDevices',
    'autoDedup',
    'trackMem',
    'lazyPages',
    'orphanPtsMaster',
  ] as const;
  for (const flag of flags) copyFlag(options, opts, flag);
  if (options.parentImage !== undefined) {
    checkString('options.parentImage', options.parentImage);
    opts.parentImg = options.parentImage;
  }
  if (options.manageCgroups !== undefined)
    Object.assign(opts, cgroupMode('options.manageCgroups', options.manageCgroups));
  if (options.freezeCgroup !== undefined) {
    checkString('options.freezeCgroup', options.freezeCgroup);
    opts.freezeCgroup = options.freezeCgroup;
  }
  if (options.externalMounts !== undefined) {
    opts.extMnt = externalMounts('options.externalMounts', options.externalMounts);
  }
  if (options.root !== undefined) {
    checkString('options.root', options.root);
    opts.root = options.root;
  }
  if (options.pageServer !== undefined)
    opts.ps = pageServerInfo('options.pageServer', options.pageServer, fds);
  if (options.emptyNamespaces !== undefined) opts.emptyNs = emptyNamespaceMask(options.emptyNamespaces);
  if (options.lazyPages && options.pageServer === undefined) {
    throw new CriuOptionError(
      'options.lazyPages',
      'a lazy dump serves pages on pageServer.port: set options.pageServer',
    );
  }
  if (options.ghostLimit !== undefined) {
    checkPositiveInteger('options.ghostLimit', options.ghostLimit);
    opts.ghostLimit = options.ghostLimit;
  }
  if (options.skipMounts !== undefined) opts.skipMnt = stringList('options.skipMounts', options.skipMounts);
  if (options.enableFs !== undefined) opts.enableFs = stringList('options.enableFs', options.enableFs);
  if (options.preDumpMode !== undefined) {
    const mode = preDumpModes[options.preDumpMode];
    if (mode === undefined) {
      throw new CriuOptionError(
        'options.preDumpMode',
        `expected 'splice' or 'read', got ${JSON.stringify(options.preDumpMode)}`,
      );
    }
    opts.preDumpMode = mode;
  }
  return opts;
}

/** CriuOpts for a restore. Throws CriuOptionError before anything is started. */
export function restoreOpts(
  options: CriuRestoreOptions,
  fds: RequestDescriptors,
  defaults: { logLevel: CriuLogLevel; logFile: string },
): criu.ICriuOpts {
  validateBaseOptions(options);
  const opts = baseOpts(options, fds, defaults.logLevel, defaults.logFile);
  const flags = [
    'shellJob',
    'tcpEstablished',
    'tcpClose',
    'extUnixSk',
    'fileLocks',
    'linkRemap',
    'evasiveDevices',
    'lazyPages',
    'orphanPtsMaster',
    'weakSysctls',
    'autoDedup',
  ] as const;
  for (const flag of flags) copyFlag(options, opts, flag);
  if (options.restoreSibling !== undefined)
    opts.rstSibling = checkBoolean('options.restoreSibling', options.restoreSibling);
  if (options.manageCgroups !== undefined)
    Object.assign(opts, cgroupMode('options.manageCgroups', options.manageCgroups));
  if (options.cgroupRoots !== undefined) {
    if (!Array.isArray(options.cgroupRoots))
      throw new CriuOptionError('options.cgroupRoots', 'expected an array');
    opts.cgRoot = options.cgroupRoots.map((root, i) => {
      checkString(`options.cgroupRoots[${i}].path`, root?.path);
      if (root.controller === undefined) return { path: root.path };
      // An empty name is the v2 hierarchy, not a missing one.
      if (typeof root.controller !== 'string' || root.controller.includes('\0')) {
        throw new CriuOptionError(
          `options.cgroupRoots[${i}].controller`,
          `expected a string, got ${JSON.stringify(root.controller)}`,
        );
      }
      return { ctrl: root.controller, path: root.path };
    });
  }
  if (options.externalMounts !== undefined) {
    opts.extMnt = externalMounts('options.externalMounts', options.externalMounts);
  }
  if (options.vethPairs !== undefined) {
    if (!Array.isArray(options.vethPairs))
      throw new CriuOptionError('options.vethPairs', 'expected an array');
    opts.veths = options.vethPairs.map((pair, i) => {
      checkString(`options.vethPairs[${i}].inside`, pair?.inside);
      checkString(`options.vethPairs[${i}].outside`, pair.outside);
      return { ifIn: pair.inside, ifOut: pair.outside };
    });
  }
  if (options.inheritFds !== undefined) {
    if (!Array.isArray(options.inheritFds))
      throw new CriuOptionError('options.inheritFds', 'expected an array');
    opts.inheritFd = options.inheritFds.map((inherited, i) => {
      checkString(`options.inheritFds[${i}].key`, inherited?.key);
      checkDescriptor(`options.inheritFds[${i}].fd`, inherited.fd);
      return { key: inherited.key, fd: fds.inCriu(inherited.fd) };
    });
  }
  if (options.root !== undefined) {
    checkString('options.root', options.root);
    opts.root = options.root;
  }
  if (options.emptyNamespaces !== undefined) opts.emptyNs = emptyNamespaceMask(options.emptyNamespaces);
  if (options.lsmProfile !== undefined) {
    checkString('options.lsmProfile', options.lsmProfile);
    opts.lsmProfile = options.lsmProfile;
  }
  if (options.skipMounts !== undefined) opts.skipMnt = stringList('options.skipMounts', options.skipMounts);
  if (options.enableFs !== undefined) opts.enableFs = stringList('options.enableFs', options.enableFs);
  return opts;
}

/** CriuOpts for starting a page server. */
export function pageServerOpts(
  options: CriuPageServerOptions,
  fds: RequestDescriptors,
  defaults: { logLevel: CriuLogLevel; logFile: string },
): criu.ICriuOpts {
  validateBaseOptions(options);
  const opts = baseOpts(options, fds, defaults.logLevel, defaults.logFile);
  const port = options.port ?? 0;
  checkPort('options.port', port);
  const ps: NonNullable<criu.ICriuOpts['ps']> = { port };
  if (options.address !== undefined) {
    checkString('options.address', options.address);
    ps.address = options.address;
  }
  opts.ps = ps;
  copyFlag(options, opts, 'lazyPages');
  return opts;
}

function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new CriuOptionError(option, `expected true or false, got ${JSON.stringify(value)}`);
  return value;
}

type FlagName = {
  [K in keyof criu.ICriuOpts]-?: NonNullable<criu.ICriuOpts[K]> extends boolean ? K : never;
}[keyof criu.ICriuOpts];

function copyFlag<K extends FlagName>(options: object, opts: criu.ICriuOpts, flag: K): void {
  const value = (options as Record<string, unknown>)[flag];
  if (value === undefined) return;
  (opts as unknown as Record<string, unknown>)[flag] = checkBoolean(`options.${flag}`, value);
}
