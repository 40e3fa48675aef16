/** Stable codes, as the rest of corral uses them. */
export type CgroupErrorCode = 'INVALID_CONFIG' | 'NOT_SUPPORTED' | 'SYSTEM';

/**
 * Every failure this package reports. `field` names the configuration field at fault (an OCI
 * JSON path such as `linux.resources.memory.limit`); `path` the cgroup file or directory.
 */
export class CgroupError extends Error {
  readonly code: CgroupErrorCode;
  readonly field: string | undefined;
  readonly path: string | undefined;

  constructor(
    code: CgroupErrorCode,
    message: string,
    options: { field?: string; path?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CgroupError';
    this.code = code;
    this.field = options.field;
    this.path = options.path;
  }
}

export function invalidConfig(field: string, message: string): CgroupError {
  return new CgroupError('INVALID_CONFIG', `${field}: ${message}`, { field });
}

export function notSupported(message: string, field?: string): CgroupError {
  return new CgroupError('NOT_SUPPORTED', field ? `${field}: ${message}` : message, field ? { field } : {});
}

/** Wraps a failed file operation on a cgroup with the path and what was attempted. */
export function systemError(action: string, path: string, cause: unknown): CgroupError {
  const code = (cause as { code?: string }).code;
  return new CgroupError('SYSTEM', `${action} ${path}: ${code ?? (cause as Error).message}`, { path, cause });
}

export function errnoCode(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}
