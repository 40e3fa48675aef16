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

let loaded: NativeBinding | undefined;

export function binding(): NativeBinding {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    loaded = load(packageRoot);
  }
  return loaded;
}
