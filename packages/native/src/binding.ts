import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { CompiledSeccompFilter, SeccompFilterSpec } from './seccomp.js';

/** The compiled addon's surface. Everything here is wrapped by a typed module; nothing else
 * in the project loads the addon directly. */
export interface NativeBinding {
  socketpairSeqpacket(): [number, number];
  sealedExecutableCopy(path: string): number;
  tryFlock(fd: number, exclusive: boolean): boolean;
  mkfifo(path: string, mode: number): void;
  unixConnect(path: string): number;
  setWindowSize(fd: number, rows: number, columns: number): void;
  windowSize(fd: number): [rows: number, columns: number] | null;
  unixDatagramBind(path: string): number;
  unixDatagramSend(path: string, data: Uint8Array): void;
  seqpacketSend(fd: number, data: Uint8Array, fds?: number[]): boolean;
  seqpacketReceive(fd: number): { data: Buffer; fds: number[] } | null;
  FdWatcher: new (
    fd: number,
    callback: (status: number, readable: boolean, writable: boolean) => void,
  ) => NativeFdWatcher;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  pidfdWait(pidfd: number): { code: number | null; signal: number | null } | null;
  setChildSubreaper(on: boolean): void;
  spawnProcess(path: string, argv: string[], fds: number[], env: string[]): [pid: number, pidfd: number];
  bpfProgLoad(type: number, instructions: Buffer, license: string): number;
  bpfProgAttach(targetFd: number, progFd: number, attachType: number, flags: number): void;
  bpfProgDetach(targetFd: number, progFd: number, attachType: number): void;
  bpfProgQuery(targetFd: number, attachType: number): { attachFlags: number; ids: number[] };
  bpfProgGetFdById(id: number): number;
  eventfdCreate(): number;
  netlinkSocket(protocol: number, netnsFd: number): number;
  netnsCreate(path: string): void;
  namespaceType(path: string): number;
  netnsUnmount(path: string): void;
  mountMakeShared(dir: string): void;
  seccompCompile(spec: SeccompFilterSpec): CompiledSeccompFilter;
  seccompVersion(): string;
}

export interface NativeFdWatcher {
  start(readable: boolean, writable: boolean): void;
  stop(): void;
  ref(): void;
  unref(): void;
  close(): void;
}

const require = createRequire(import.meta.url);
let path: string | undefined;
let loaded: NativeBinding | undefined;

/** What to do when no prebuild fits: the package's install script builds one from source. */
const BUILD_HINT =
  "build one from source with `node node_modules/@corral/native/scripts/install.mjs` (needs a C and C++ compiler, make, python3 and libseccomp's headers)";

/**
 * The package's own directory, found by name rather than beside this file: the command line
 * bundles this module into its own files. The nearest node_modules/@corral/native above this
 * file is where require would find it, looked for directly: require.resolve through the
 * package's exports costs about 2 ms, paid by every command. Not bundled, the package resolves
 * its own name.
 */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', '@corral', 'native');
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return dirname(require.resolve('@corral/native/package.json'));
  }
}

/**
 * The addon, where the build put it: a build from source in build/Release (what the install
 * script makes where no prebuild fits, and what a checkout builds) when there is one, else the
 * prebuild for this architecture. Two fixed paths, no directory search: this runs on every
 * command.
 */
export function addonPath(root?: string): string {
  if (root === undefined) {
    path ??= addonPath(packageRoot());
    return path;
  }
  const fromSource = join(root, 'build', 'Release', 'corral_native.node');
  if (existsSync(fromSource)) return fromSource;
  const prebuild = join(root, 'prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node');
  if (existsSync(prebuild)) return prebuild;
  throw new Error(`@corral/native: no build for linux-${process.arch} in ${root}; ${BUILD_HINT}`);
}

/** Loads the addon at `addon`, or says in one line why it cannot be loaded here. */
export function loadAddon(addon: string): NativeBinding {
  try {
    return require(addon) as NativeBinding;
  } catch (error) {
    // The dynamic loader names what is missing: a library, or the glibc version the addon needs.
    throw new Error(`@corral/native: cannot load ${addon}: ${firstLine(error)}; ${BUILD_HINT}`, {
      cause: error,
    });
  }
}

export function binding(): NativeBinding {
  loaded ??= loadAddon(addonPath());
  return loaded;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split('\n')[0]!
    .trim();
}
