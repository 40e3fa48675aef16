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
