import { constants } from 'node:os';

import type { InitErrorReport } from '@corral/native';

import { CorralError } from './errors.js';
import type { HookKind, Spec, SpecHook } from './spec/types.js';
import { OCI_VERSION } from './state/oci-state.js';

/** The state document hooks read on stdin (the OCI runtime spec's state). */
export interface HookState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/**
 * The state document, in the spec's order of fields: the version of the spec corral implements
 * (as `state` reports it, and runc writes its own),
 * and a pid only while there is a process (not once stopped).
 */
export function hookState(spec: Spec, fields: Omit<HookState, 'ociVersion' | 'annotations'>): string {
  const state: HookState = {
    ociVersion: OCI_VERSION,
    id: fields.id,
    status: fields.status,
    ...(fields.pid !== undefined && fields.status !== 'stopped' ? { pid: fields.pid } : {}),
    bundle: fields.bundle,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
  return JSON.stringify(state);
}

/**
 * The state document for the hooks that run inside the container, cut around its status value
 * (`before + status + after`): corral-init fills in each hook's own, so GO carries it once.
 */
export function hookStateAround(
  spec: Spec,
  fields: Omit<HookState, 'ociVersion' | 'annotations' | 'status'>,
): { before: string; after: string } {
  const mark = '\u0000status\u0000';
  const quoted = JSON.stringify(mark);
  const state = hookState(spec, { ...fields, status: mark as HookState['status'] });
  const at = state.indexOf(quoted);
  return { before: state.slice(0, at + 1), after: state.slice(at + quoted.length - 1) };
}

/**
 * The runtime spec's seccomp state: what the agent at linux.seccomp.listenerPath receives with
 * the listener descriptor. `state` is the container state, `pid` the filtered process.
 */
export function seccompListenerState(spec: Spec, metadata: string, state: string, pid: number): string {
  return JSON.stringify({
    ociVersion: spec.ociVersion,
    fds: ['seccompFd'],
    pid,
    metadata,
    state: JSON.parse(state) as HookState,
  });
}

function environment(entries: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

// Go's names of the signals, which runc's hook errors show ("signal: killed").
const SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: 'hangup',
  SIGINT: 'interrupt',
  SIGQUIT: 'quit',
  SIGILL: 'illegal instruction',
  SIGABRT: 'aborted',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGKILL: 'killed',
  SIGUSR1: 'user defined signal 1',
  SIGSEGV: 'segmentation fault',
  SIGUSR2: 'user defined signal 2',
  SIGPIPE: 'broken pipe',
  SIGALRM: 'alarm clock',
  SIGTERM: 'terminated',
};

/** runc's words for a failed hook: `error running prestart hook #0: error running hook: ...`. */
function hookError(kind: HookKind, index: number, problem: string): string {
  return `error running ${kind} hook #${index}: ${problem}`;
}

const timeoutText = (hook: SpecHook) => `hook ran past specified timeout of ${hook.timeout!.toFixed(1)}s`;

/** How corral-init's report of a failed in-container hook reads, in runc's words. */
export function hookFailure(kind: HookKind, index: number, hook: SpecHook, report: InitErrorReport): string {
  if (report.errno === constants.errno.ETIMEDOUT && hook.timeout)
    return hookError(kind, index, timeoutText(hook));
  if (report.errno === constants.errno.ECANCELED)
    return hookError(kind, index, `error running hook: ${report.message}`);
  return hookError(kind, index, `${report.syscall} ${hook.path}: errno ${report.errno}`);
}

/**
 * Runs a hook in the runtime's namespaces as runc does: in the bundle directory, with its own
 * environment or else the runtime's, the state on stdin, its output kept for the error.
 */
function runHook(kind: HookKind, index: number, hook: SpecHook, state: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
    // Loaded here, not at the top: node:child_process brings net with it, 2 to 4 ms of every
    // command that may run a hook and mostly runs none.
    const child = process.getBuiltinModule('node:child_process').spawn(hook.path, args, {
      argv0,
      cwd: (JSON.parse(state) as HookState).bundle,
      env: hook.env ? environment(hook.env) : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // A hook that does not read its state must not fail the write, nor us.
    child.stdin.on('error', () => undefined);
    child.stdin.end(state);
    child.on('error', (error: NodeJS.ErrnoException) => {
      const text = error.code === 'ENOENT' ? 'no such file or directory' : error.message;
      reject(
        new CorralError('SYSTEM', hookError(kind, index, `fork/exec ${hook.path}: ${text}`), {
          cause: error,
        }),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      if (signal === 'SIGKILL' && hook.timeout)
        return reject(new CorralError('SYSTEM', hookError(kind, index, timeoutText(hook))));
      const how = signal ? `signal: ${SIGNAL_TEXT[signal] ?? signal}` : `exit status ${code}`;
      reject(
        new CorralError(
          'SYSTEM',
          hookError(kind, index, `error running hook: ${how}, stdout: ${stdout}, stderr: ${stderr}`),
        ),
      );
    });
  });
}

/** Runs the config's hooks of one kind in the runtime's namespaces, in order; the first failure stops them. */
export async function runHooks(spec: Spec, kind: HookKind, state: string): Promise<void> {
  for (const [i, hook] of (spec.hooks?.[kind] ?? []).entries()) await runHook(kind, i, hook, state);
}

/**
 * For hooks whose failure the spec says only to warn about (poststart, poststop): every one
 * runs, and each failure is a warning.
 */
export async function runHooksWarning(
  spec: Spec,
  kind: HookKind,
  state: string,
  warn: (message: string) => void,
): Promise<void> {
  for (const [i, hook] of (spec.hooks?.[kind] ?? []).entries()) {
    await runHook(kind, i, hook, state).catch((error: Error) => warn(error.message));
  }
}
