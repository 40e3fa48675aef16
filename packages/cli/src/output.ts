import { appendFileSync } from 'node:fs';

export type LogFormat = 'text' | 'json';

/** Where errors and warnings go: stderr, or the --log file, as text or JSON lines. */
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

  #write(level: string, message: string, details?: Record<string, unknown>): void {
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
    process.stderr.write(line);
  }
}
