import { errnoName } from '@corral/native';

export { errnoName };

/** Every error this package throws; `code` is stable and meant for programs. */
export class NetworkError extends Error {
  readonly code: 'INVALID_CONFIG' | 'SYSTEM' | 'SETUP_FAILED';

  constructor(code: NetworkError['code'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Input refused before anything was changed: `field` names the setting at fault (a path such as
 * `addresses[1]`), `value` is what was given.
 */
export class NetworkConfigError extends NetworkError {
  readonly field: string;
  readonly value: unknown;
  /** What is wrong, without the field and value. */
  readonly problem: string;

  constructor(field: string, value: unknown, problem: string) {
    super('INVALID_CONFIG', `${field}: ${problem} (got ${JSON.stringify(value)})`);
    this.field = field;
    this.value = value;
    this.problem = problem;
  }
}

/** What a netlink request was about, for error messages. */
export interface NetlinkRequestContext {
  /** The request type's name, e.g. RTM_NEWLINK. */
  request: string;
  /** The interface the request was about, when there was one. */
  interface?: string;
  /** A short description of the operation, e.g. `add address 10.0.0.2/24`. */
  operation?: string;
}

/** The kernel refused a netlink request. */
export class NetlinkError extends NetworkError {
  readonly errno: number;
  /** EEXIST, ENODEV, EPERM... */
  readonly errnoName: string;
  readonly request: string;
  readonly interface: string | undefined;
  readonly operation: string | undefined;
  /** The kernel's own explanation (extended ack), when it gave one. */
  readonly kernelMessage: string | undefined;

  constructor(errno: number, context: NetlinkRequestContext, kernelMessage?: string) {
    const name = errnoName(errno);
    const what = [context.operation ?? context.request, context.interface && `on ${context.interface}`]
      .filter(Boolean)
      .join(' ');
    super('SYSTEM', `${what}: ${name}${kernelMessage ? ` (${kernelMessage})` : ''} [${context.request}]`);
    this.errno = errno;
    this.errnoName = name;
    this.request = context.request;
    this.interface = context.interface;
    this.operation = context.operation;
    this.kernelMessage = kernelMessage;
  }
}

/**
 * A strategy failed part way. `cause` is the failure; `cleanupErrors` holds anything that went
 * wrong while removing what had been made (empty when the rollback was complete).
 */
export class NetworkSetupError extends NetworkError {
  readonly cleanupErrors: unknown[];

  constructor(message: string, cause: unknown, cleanupErrors: unknown[]) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const leftover = cleanupErrors.length
      ? `; cleanup also failed: ${cleanupErrors.map(String).join('; ')}`
      : '';
    super('SETUP_FAILED', `${message}: ${detail}${leftover}`, { cause });
    this.cleanupErrors = cleanupErrors;
  }
}

export function isNetlinkError(error: unknown, name?: string): error is NetlinkError {
  return error instanceof NetlinkError && (name === undefined || error.errnoName === name);
}
