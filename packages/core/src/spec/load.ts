import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { InvalidConfigError } from '../errors.js';
import { rootfsPath } from '../plan/compile.js';
import type { Spec } from './types.js';
import { validateSpec } from './validate.js';

export interface Bundle {
  /** Absolute bundle directory. */
  path: string;
  spec: Spec;
  /** Absolute rootfs directory. */
  rootfs: string;
  /** What the config holds that is ignored, as runc warns about it (unknown capabilities...). */
  warnings: string[];
}

/** Reads and validates BUNDLE/config.json and checks that its rootfs is a directory. */
export function loadBundle(bundleDir: string): Bundle {
  const path = resolve(bundleDir);
  const configPath = join(path, 'config.json');
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? `JSON specification file config.json not found in ${path}`
        : `cannot read ${configPath}: ${code}`;
    throw new InvalidConfigError('', problem, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidConfigError('', `${configPath} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const warnings: string[] = [];
  const spec = validateSpec(raw, warnings);
  const rootfs = rootfsPath(spec, path);
  let isDirectory = false;
  try {
    isDirectory = statSync(rootfs).isDirectory();
  } catch (error) {
    throw new InvalidConfigError('root.path', `rootfs ${rootfs} does not exist`, { cause: error });
  }
  if (!isDirectory) throw new InvalidConfigError('root.path', `rootfs ${rootfs} is not a directory`);
  return { path, spec, rootfs, warnings };
}
