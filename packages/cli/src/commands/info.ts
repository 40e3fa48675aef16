import { spawnSync } from 'node:child_process';

import { containerProcesses, openContainer, runtimeFeatures } from '@corral/core';

import { containerIdArgument, parseCommandArgs, splitAtPositional, UsageError } from '../args.js';
import { COMMAND_FLAGS } from '../flags.js';
import type { GlobalOptions } from '../global.js';
import { writeOut } from '../output.js';

export async function features(args: string[]): Promise<number> {
  const { positionals } = parseCommandArgs('features', args);
  if (positionals.length) throw new UsageError('features: takes no arguments');
  writeOut(`${JSON.stringify(runtimeFeatures(), null, 2)}\n`);
  return 0;
}

/** `ps ID [ps args]`: the host's ps, narrowed to the container's processes (runc's format). */
export async function ps(args: string[], global: GlobalOptions): Promise<number> {
  const [flags, rest] = splitAtPositional(args, COMMAND_FLAGS.ps);
  const { values } = parseCommandArgs('ps', flags);
  if (rest.length === 0) throw new UsageError('ps: needs a container id');
  const id = containerIdArgument('ps', rest.slice(0, 1));
  const pids = new Set(await containerProcesses(openContainer(global.root, id)));
  if (values.format === 'json') {
    writeOut(`${JSON.stringify([...pids])}\n`);
    return 0;
  }
  if (values.format !== 'table')
    throw new UsageError(`ps: --format must be table or json, got ${JSON.stringify(values.format)}`);
  const psArgs = rest.slice(1);
  const result = spawnSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
  if (result.status !== 0) throw new UsageError(`ps: ps ${psArgs.join(' ')} failed: ${result.stderr.trim()}`);
  const [header = '', ...lines] = result.stdout.split('\n');
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn < 0) throw new UsageError('ps: the ps output has no PID column');
  const mine = lines.filter((line) => pids.has(Number(line.trim().split(/\s+/)[pidColumn])));
  writeOut([header, ...mine, ''].join('\n'));
  return 0;
}
