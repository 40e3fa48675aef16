import { appendFileSync, writeSync } from 'node:fs';

export type LogFormat = 'text' | 'json';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to stdout at once, by the descriptor: process.stdout would load Node's
 * stream modules, which cost a short command such as `state` more than its own work. A stdout
 * someone made non-blocking is waited on, a millisecond at a time.
 */
export function writeOut(text: string): void {
  let data = Buffer.from(text);
  while (data.length > 0) {
    try {
      data = data.subarray(writeSync(1, data));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Where errors, warnings and --debug lines go: stderr, or the --log file, as text or JSON lines. */
export class Reporter {
  constructor(
    private readonly format: LogFormat = 'text',
    private readonly logFile?: string,
  ) {}

  /** `details` (the error's code, the field or file at fault) go into JSON lines only. */
  error(message: string, details?: Record<string, unknown>): void {
    this.#write('error', message, details);
  }

  warn(message: string): void {
    this.#write('warning', message);
  }

  /** A --debug line goes to the log alone when there is a --log file, as runc's do. */
  debug(message: string): void {
    this.#write('debug', message, undefined, !this.logFile);
  }

  #write(level: string, message: string, details?: Record<string, unknown>, toStderr = true): void {
    const line =
      this.format === 'json'
        ? `${JSON.stringify({ level, msg: message, ...details, time: new Date().toISOString() })}\n`
        : `corral: ${level === 'error' ? '' : `${level}: `}${message}\n`;
    if (this.logFile) {
      try {
        appendFileSync(this.logFile, line);
      } catch {
        // An unwritable log must not hide the error itself.
      }
    }
    if (toStderr) process.stderr.write(line);
  }
}
