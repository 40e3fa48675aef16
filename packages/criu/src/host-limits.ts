import { readFileSync } from 'node:fs';

/** The pipe size a lazy dump's page server asks for: CRIU's PIPE_MAX_SIZE, 1024 pages. */
export const LAZY_SERVER_PIPE_BYTES = 1024 * 4096;

const CAP_SYS_RESOURCE = 24;

/** What the check reads, injectable so that it is testable without changing the host. */
export interface HostReader {
  readFile(path: string): string;
}

const procfs: HostReader = { readFile: (path) => readFileSync(path, 'utf8') };

/**
 * Why a lazy dump could not serve its memory here, or undefined when it can. CRIU's lazy page
 * server makes a pipe of LAZY_SERVER_PIPE_BYTES and, when that fails, goes on with an unusable
 * one: the dump then dies on the other side's first page request with a bare EBADF. A process
 * without CAP_SYS_RESOURCE cannot make a pipe larger than fs.pipe-max-size.
 */
export function lazyDumpObstacle(host: HostReader = procfs): string | undefined {
  const maxSize = Number(host.readFile('/proc/sys/fs/pipe-max-size').trim());
  if (maxSize >= LAZY_SERVER_PIPE_BYTES) return undefined;
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(host.readFile('/proc/self/status'))?.[1];
  if (effective !== undefined && (BigInt(`0x${effective}`) >> BigInt(CAP_SYS_RESOURCE)) & 1n)
    return undefined;
  return (
    `a lazy dump serves memory through ${LAZY_SERVER_PIPE_BYTES}-byte pipes, but fs.pipe-max-size is ` +
    `${maxSize} and this process lacks CAP_SYS_RESOURCE to exceed it: raise it with ` +
    `\`sysctl -w fs.pipe-max-size=${LAZY_SERVER_PIPE_BYTES}\``
  );
}
