import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The parts of an OCI config.json the cases edit; anything else passes through untouched. */
export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Config {
  ociVersion: string;
  process: {
    terminal?: boolean;
    user: { uid?: number; gid?: number; additionalGids?: number[] };
    args: string[];
    env?: string[];
    cwd: string;
    capabilities?: Record<'bounding' | 'effective' | 'permitted' | 'ambient' | 'inheritable', string[]>;
    noNewPrivileges?: boolean;
    [key: string]: unknown;
  };
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: Mount[];
  hooks?: Partial<
    Record<
      'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop',
      Hook[]
    >
  >;
  annotations?: Record<string, string>;
  linux: {
    namespaces: Array<{ type: string; path?: string }>;
    resources?: Record<string, unknown>;
    cgroupsPath?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    rootfsPropagation?: string;
    uidMappings?: IdMapping[];
    gidMappings?: IdMapping[];
    seccomp?: Record<string, unknown>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

let runcDefault: string | undefined;

/**
 * runc's own default config (`runc spec`), as the start of every case: the reference runtime's
 * defaults, not corral's copy of them. Read once per process.
 */
export function baseConfig(): Config {
  if (runcDefault === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'corral-compat-spec-'));
    try {
      execFileSync('runc', ['spec', '--bundle', dir], { timeout: 30_000 });
      runcDefault = readFileSync(join(dir, 'config.json'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const config = JSON.parse(runcDefault) as Config;
  // A case's process talks through the runtime's stdio unless the case asks for a terminal, and
  // may write in its root.
  config.process.terminal = false;
  config.root.readonly = false;
  return config;
}

/** Removes the namespace of a type from a config (a case that wants the host's). */
export function withoutNamespace(config: Config, type: string): void {
  config.linux.namespaces = config.linux.namespaces.filter((ns) => ns.type !== type);
}
