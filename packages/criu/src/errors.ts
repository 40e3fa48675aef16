import { errnoName } from '@corral/native';

export { errnoName };

/** What went wrong, as a stable code a caller can branch on. */
export type CriuErrorCode =
  /** The criu binary could not be started (missing, not executable). */
  | 'CRIU_NOT_FOUND'
  /** criu is older than the client needs. */
  | 'CRIU_TOO_OLD'
  /** criu ran its own `check` and reported that it cannot work on this system. */
  | 'CRIU_CHECK_FAILED'
  /** The kernel or CRIU lacks a feature the request needs (found before anything was changed). */
  | 'CRIU_UNSUPPORTED'
  /** criu answered the request with a failure. */
  | 'CRIU_FAILED'
  /** criu exited, or broke the protocol, before answering. */
  | 'CRIU_EXITED'
  /** A notification callback rejected, so the operation was stopped. */
  | 'CRIU_NOTIFY_REJECTED'
  /** The caller's AbortSignal stopped the operation. */
  | 'CRIU_ABORTED';

/** The request a failure belongs to, in CRIU's own words. */
export type CriuRequestName =
  | 'version'
  | 'check'
  | 'feature-check'
  | 'dump'
  | 'pre-dump'
  | 'restore'
  | 'page-server'
  | 'lazy-pages';

export interface CriuErrorDetails {
  request: CriuRequestName;
  cause?: unknown;
  /** The errno CRIU reported (cr_errno), when it gave one. */
  errno?: number;
  /** CRIU's own first error line (cr_errmsg), when it gave one. */
  criuMessage?: string;
  /** The log file of the request, when there is one. */
  logFile?: string;
  /** The last lines of that log file (or of criu's stderr when it has no log). */
  logTail?: string[];
}

/** A failure of CRIU or of talking to it, with what CRIU said and the end of its log. */
export class CriuError extends Error {
  override readonly name = 'CriuError';
  readonly code: CriuErrorCode;
  readonly request: CriuRequestName;
  readonly errno: number | undefined;
  readonly criuMessage: string | undefined;
  readonly logFile: string | undefined;
  readonly logTail: string[];

  constructor(code: CriuErrorCode, message: string, details: CriuErrorDetails) {
    const tail = details.logTail ?? [];
    const parts = [`criu ${details.request}: ${message}`];
    if (details.errno) parts.push(`(${errnoName(details.errno)})`);
    // CRIU's first error line goes in only when there is no log to quote: the first error is
    // often an early warning-like one, and the log tail shows the one that mattered.
    if (details.criuMessage && tail.length === 0 && !message.includes(details.criuMessage.trim())) {
      parts.push(`- ${details.criuMessage.trim()}`);
    }
    let text = parts.join(' ');
    if (tail.length > 0) {
      text += `\n  ${details.logFile ? `last lines of ${details.logFile}` : 'criu said'}:\n    ${tail.join('\n    ')}`;
    }
    super(text, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.request = details.request;
    this.errno = details.errno;
    this.criuMessage = details.criuMessage;
    this.logFile = details.logFile;
    this.logTail = tail;
  }
}

/** Bad input to the client, found before anything was started; names the option at fault. */
export class CriuOptionError extends TypeError {
  override readonly name = 'CriuOptionError';
  readonly code = 'INVALID_OPTION';
  readonly option: string;

  constructor(option: string, message: string) {
    super(`${option}: ${message}`);
    this.option = option;
  }
}
