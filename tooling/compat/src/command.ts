import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CommandResult {
  /** The exit status, or undefined when a signal ended the command. */
  status: number | undefined;
  signal: NodeJS.Signals | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CommandOptions {
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/**
 * Runs a command to its exit. Its output goes to files, not pipes: a detached container keeps
 * the runtime's stdio open long after the runtime itself has exited, and only the runtime's own
 * exit is waited for.
 */
export function runCommand(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-compat-out-'));
  const outPath = join(dir, 'stdout');
  const errPath = join(dir, 'stderr');
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  const finish = (status: number | null, signal: NodeJS.Signals | null, timedOut: boolean): CommandResult => {
    const result = {
      status: status ?? undefined,
      signal: signal ?? undefined,
      stdout: readFileSync(outPath, 'utf8'),
      stderr: readFileSync(errPath, 'utf8'),
      timedOut,
    };
    rmSync(dir, { recursive: true, force: true });
    return result;
  };
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', out, err],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    closeSync(out);
    closeSync(err);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(error);
    });
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      resolve(finish(status, signal, timedOut));
    });
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}

/** A command line as one string for `sh -c` and `script -c`. */
export function shellQuote(argv: readonly string[]): string {
  return argv
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
