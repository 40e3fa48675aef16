import { createRequire } from 'node:module';
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

/** The package root: src/ and dist/ both sit one level below it. */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url));

const require = createRequire(import.meta.url);
let path: string | undefined;
let loaded: NativeBinding | undefined;

/** What to do when no prebuild fits: the package's install script builds one from source. */
const BUILD_HINT =
  "build one from source with `node node_modules/@corral/native/scripts/install.mjs` (needs a C and C++ compiler, make, python3 and libseccomp's headers)";

/**
 * The addon node-gyp-build picks: a build from source in build/Release when there is one, else
 * the prebuild for this platform and architecture (prebuilds/linux-ARCH/node.napi.glibc.node).
 */
export function addonPath(): string {
  if (path === undefined) {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    try {
      path = nodeGypBuild.resolve(packageRoot);
    } catch (error) {
      throw new Error(`@corral/native: ${firstLine(error)}; ${BUILD_HINT}`, { cause: error });
    }
  }
  return path;
}

export function binding(): NativeBinding {
  if (!loaded) {
    const addon = addonPath();
    try {
      loaded = require(addon) as NativeBinding;
    } catch (error) {
      // The dynamic loader names what is missing: a library, or the glibc version the addon needs.
      throw new Error(`@corral/native: cannot load ${addon}: ${firstLine(error)}; ${BUILD_HINT}`, {
        cause: error,
      });
    }
  }
  return loaded;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split('\n')[0]!
    .trim();
}
