import { constants } from 'node:os';

/** An error from a system call, shaped like Node's own (code, errno, syscall). */
export interface SystemCallError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isSystemCallError(error: unknown, code?: string): error is SystemCallError {
  if (!(error instanceof Error)) return false;
  const candidate = error as Partial<SystemCallError>;
  return typeof candidate.syscall === 'string' && (code === undefined || candidate.code === code);
}

let errnoNames: Map<number, string> | undefined;

/**
 * The symbolic name of an errno value (2 -> `ENOENT`), or `errno N` when it has none. Node's
 * own errors carry the value negated; either sign is taken. The one table every package uses.
 */
export function errnoName(errno: number): string {
  errnoNames ??= new Map(Object.entries(constants.errno).map(([name, value]) => [value, name]));
  return errnoNames.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}
