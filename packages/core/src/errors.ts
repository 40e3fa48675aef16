/**
 * One error family with stable codes. The CLI prints `message`; tools switch on `code`.
 * Causes are chained (`cause`), never swallowed.
 */
export type CorralErrorCode =
  | 'CONTAINER_NOT_FOUND'
  | 'CONTAINER_EXISTS'
  | 'INVALID_ID'
  | 'INVALID_CONFIG'
  | 'INVALID_STATE'
  | 'NOT_SUPPORTED'
  | 'SYSTEM';

export class CorralError extends Error {
  readonly code: CorralErrorCode;

  constructor(code: CorralErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CorralError';
    this.code = code;
  }
}

/** A config that cannot be run; `path` is the JSON path at fault, e.g. `process.args`. */
export class InvalidConfigError extends CorralError {
  readonly path: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(
      'INVALID_CONFIG',
      path ? `invalid config: ${path}: ${problem}` : `invalid config: ${problem}`,
      options,
    );
    this.name = 'InvalidConfigError';
    this.path = path;
  }
}

/** A system call that failed, with what it was doing: `mount proc on /proc (mounts[0]): EPERM`. */
export class SystemError extends CorralError {
  readonly syscall: string;
  readonly errno: number;
  readonly errnoCode: string;
  readonly path: string | undefined;

  constructor(
    what: string,
    details: {
      syscall: string;
      errno: number;
      errnoCode: string;
      path?: string;
      detail?: string;
      /** The whole message, for a failure whose wording tools match on (runc's texts). */
      message?: string;
    },
    options?: ErrorOptions,
  ) {
    const detail = details.detail ? `: ${details.detail}` : '';
    super('SYSTEM', details.message ?? `${what}: ${details.syscall}: ${details.errnoCode}${detail}`, options);
    this.name = 'SystemError';
    this.syscall = details.syscall;
    this.errno = details.errno;
    this.errnoCode = details.errnoCode;
    this.path = details.path;
  }
}

/** corral-init's report of a failed op: where in the plan (and so in the config) it failed. */
export class InitError extends SystemError {
  /** `runtime` before the container process exists, `container` inside it. */
  readonly stage: 'runtime' | 'container';
  /** The plan op that failed; -1 when the failure was outside any op. */
  readonly opIndex: number;

  constructor(
    what: string,
    details: ConstructorParameters<typeof SystemError>[1] & {
      stage: 'runtime' | 'container';
      opIndex: number;
    },
  ) {
    super(what, details);
    this.name = 'InitError';
    this.stage = details.stage;
    this.opIndex = details.opIndex;
  }
}

/** Keeps both the failure and anything that went wrong while undoing it. */
export class CreateContainerError extends CorralError {
  readonly cleanupErrors: unknown[];

  constructor(failure: CorralError, cleanupErrors: unknown[]) {
    const suffix = cleanupErrors.length
      ? ` (and cleanup failed: ${cleanupErrors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')})`
      : '';
    super(failure.code, `${failure.message}${suffix}`, { cause: failure });
    this.name = 'CreateContainerError';
    this.cleanupErrors = cleanupErrors;
  }
}
