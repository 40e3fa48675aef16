import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CorralError, defaultSpec, rootlessSpec } from '@corral/core';

import { parseCommandArgs, UsageError } from '../args.js';

export async function spec(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('spec', args);
  if (positionals.length) throw new UsageError(`spec: takes no arguments, got ${positionals.join(' ')}`);
  const config = values.rootless ? rootlessSpec(process.geteuid!(), process.getegid!()) : defaultSpec();
  const path = join(values.bundle, 'config.json');
  try {
    writeFileSync(path, `${JSON.stringify(config, null, '\t')}\n`, { flag: 'wx', mode: 0o666 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CorralError('INVALID_CONFIG', `File ${path} exists. Remove it first`, { cause: error });
    }
    throw error;
  }
  return 0;
}
