import { spawn } from 'node:child_process';

import { CorralError } from './errors.js';
import type { HookKind, Spec, SpecHook } from './spec/types.js';

/** The state document hooks read on stdin (the OCI runtime spec's state). */
export interface HookState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export function hookState(spec: Spec, fields: Omit<HookState, 'ociVersion' | 'annotations'>): string {
  const state: HookState = { ociVersion: spec.ociVersion, ...fields };
  if (spec.annotations) state.annotations = spec.annotations;
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

function environment(entries: readonly string[] | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const entry of entries ?? []) {
    const eq = entry.indexOf('=');
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function runHook(kind: HookKind, index: number, hook: SpecHook, state: string): Promise<void> {
  const where = `${kind} hook ${hook.path} (hooks.${kind}[${index}])`;
  return new Promise((resolve, reject) => {
    const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
    const child = spawn(hook.path, args, {
      argv0,
      env: environment(hook.env),
      stdio: ['pipe', 'inherit', 'inherit'],
      timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      killSignal: 'SIGKILL',
    });
    // A hook that does not read its state must not fail the write, nor us.
    child.stdin.on('error', () => undefined);
    child.stdin.end(state);
    child.on('error', (error) =>
      reject(new CorralError('SYSTEM', `${where}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else if (signal === 'SIGKILL' && hook.timeout)
        reject(new CorralError('SYSTEM', `${where}: timed out after ${hook.timeout}s`));
      else
        reject(
          new CorralError(
            'SYSTEM',
            `${where}: ${signal ? `killed by ${signal}` : `exited with status ${code}`}`,
          ),
        );
    });
  });
}

/** Runs the config's hooks of one kind in the runtime's namespaces, in order; the first failure stops them. */
export async function runHooks(spec: Spec, kind: HookKind, state: string): Promise<void> {
  for (const [i, hook] of (spec.hooks?.[kind] ?? []).entries()) await runHook(kind, i, hook, state);
}

/** For hooks whose failure the spec says only to warn about (poststart, poststop). */
export async function runHooksWarning(
  spec: Spec,
  kind: HookKind,
  state: string,
  warn: (message: string) => void,
): Promise<void> {
  try {
    await runHooks(spec, kind, state);
  } catch (error) {
    warn((error as Error).message);
  }
}
