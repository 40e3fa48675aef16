import { errnoName, isSystemCallError } from '@corral/native';

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

/**
 * A config or an option that cannot be run. `field` is what is at fault: the JSON path of a
 * config field (`process.args`, `mounts[2].source`) or the option (`--cgroup`); empty when the
 * whole document is (not JSON, no config.json).
 */
export class InvalidConfigError extends CorralError {
  readonly field: string;

  constructor(field: string, problem: string, options?: ErrorOptions) {
    super(
      'INVALID_CONFIG',
      field ? `invalid config: ${field}: ${problem}` : `invalid config: ${problem}`,
      options,
    );
    this.name = 'InvalidConfigError';
    this.field = field;
  }

  /** runc's own sentence for the problem, which tools match on, followed by the field. */
  static inRuncWords(field: string, sentence: string): InvalidConfigError {
    const error = new InvalidConfigError(field, sentence);
    error.message = `invalid config: ${sentence} (${field})`;
    return error;
  }
}

/** An operation the container's status does not allow: `cannot start container x: it is running`. */
export class InvalidStateError extends CorralError {
  /** The status the container was in. */
  readonly status: string;

  constructor(operation: string, id: string, status: string, hint = '') {
    super('INVALID_STATE', `cannot ${operation} container ${id}: it is ${status}${hint}`);
    this.name = 'InvalidStateError';
    this.status = status;
  }
}

export interface SystemErrorDetails {
  syscall: string;
  errno: number;
  /** ENOENT, EPERM...; the name of `errno` when not given. */
  errnoCode?: string;
  /** The file the call was about. */
  path?: string;
  /** What the caller knows beyond the errno. */
  detail?: string;
  /** The whole message, for a failure whose wording tools match on (runc's texts). */
  message?: string;
}

/** A system call that failed, with what it was doing: `mount proc on /proc (mounts[0]): EPERM`. */
export class SystemError extends CorralError {
  readonly syscall: string;
  readonly errno: number;
  readonly errnoCode: string;
  /** The file the call was about. */
  readonly path: string | undefined;

  constructor(what: string, details: SystemErrorDetails, options?: ErrorOptions) {
    const errnoCode = details.errnoCode ?? errnoName(details.errno);
    const parts = [what, details.syscall, errnoCode, details.detail].filter(Boolean);
    super('SYSTEM', details.message ?? parts.join(': '), options);
    this.name = 'SystemError';
    this.syscall = details.syscall;
    this.errno = Math.abs(details.errno);
    this.errnoCode = errnoCode;
    this.path = details.path;
  }

  /**
   * Node's error of a failed call (`fs.writeFileSync` and the like), said in corral's terms;
   * the file goes into the message unless `what` already names it.
   */
  static from(what: string, error: unknown, path?: string): SystemError | CorralError {
    if (!isSystemCallError(error)) {
      const message = (error as Error)?.message ?? String(error);
      return new CorralError('SYSTEM', what ? `${what}: ${message}` : message, { cause: error });
    }
    const file = path ?? (error as { path?: string }).path;
    return new SystemError(
      what,
      {
        syscall: error.syscall,
        errno: error.errno,
        errnoCode: error.code,
        path: file,
        detail: file && !what.includes(file) ? file : undefined,
      },
      { cause: error },
    );
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
    details: SystemErrorDetails & { stage: 'runtime' | 'container'; opIndex: number },
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

/** The codes the libraries (cgroups, network) share with core, each keeping `field` and `path`. */
interface LibraryError extends Error {
  code: 'INVALID_CONFIG' | 'NOT_SUPPORTED' | 'SYSTEM';
  field?: string;
  path?: string;
}

function isLibraryError(error: unknown): error is LibraryError {
  const code = (error as { code?: unknown })?.code;
  return (
    error instanceof Error && (code === 'INVALID_CONFIG' || code === 'NOT_SUPPORTED' || code === 'SYSTEM')
  );
}

/**
 * Any failure in corral's family: core's own as they are, the libraries' by their code (the
 * field or file at fault kept), a failed system call as a SystemError. Anything else is a bug
 * and is left as it is, so that it shows its stack.
 */
export function toCorralError(error: unknown, what = ''): unknown {
  if (error instanceof CorralError) return error;
  if (isLibraryError(error)) {
    if (error.code === 'INVALID_CONFIG') {
      const field = error.field ?? '';
      const problem =
        field && error.message.startsWith(`${field}: `)
          ? error.message.slice(field.length + 2)
          : error.message;
      return new InvalidConfigError(field, problem, { cause: error });
    }
    return new CorralError(error.code, error.message, { cause: error });
  }
  if (isSystemCallError(error)) return SystemError.from(what, error);
  return error;
}

/** A failure together with what failed while cleaning up after it. */
export function withCleanupErrors(error: unknown, cleanupErrors: unknown[]): CorralError {
  const failure = toCorralError(error);
  const corral =
    failure instanceof CorralError
      ? failure
      : new CorralError('SYSTEM', (failure as Error)?.message ?? String(failure), { cause: failure });
  return cleanupErrors.length ? new CreateContainerError(corral, cleanupErrors) : corral;
}
