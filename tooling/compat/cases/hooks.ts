import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { CompatCase } from '../src/case.js';
import type { Hook } from '../src/config.js';
import type { Session } from '../src/session.js';

/** A hook that runs a shell line (on the host, or in the container for the container hooks). */
const shellHook = (line: string): Hook => ({ path: '/bin/sh', args: ['sh', '-c', line] });

async function runTrue(s: Session, errors: string[] = []): Promise<void> {
  s.config.process.args = ['true'];
  s.writeConfig();
  await s.cli('run', ['run', s.id], { errors });
}

export const hookCases: CompatCase[] = [
  {
    name: 'a failing hook: "error running HOOK hook #N" with its stderr',
    issue: 19,
    async run(s) {
      s.config.hooks = { prestart: [shellHook('exit 0'), shellHook('echo hook-said-no >&2; exit 3')] };
      await runTrue(s, ['error running prestart hook #1', 'hook-said-no']);
    },
    currentRunc: {
      'run: error says "error running prestart hook #1"': {
        value: 'true',
        why: 'current runc names the hook kind: "error running prestart hook #1: ..." (1.1.5: "error running hook #1")',
      },
    },
  },
  {
    name: 'a startContainer hook gets the process’s environment',
    issue: 19,
    async run(s) {
      s.config.process.env = [...(s.config.process.env ?? []), 'FROM_THE_PROCESS=yes'];
      s.config.hooks = { startContainer: [shellHook('echo "$FROM_THE_PROCESS" > /hook-env')] };
      await runTrue(s);
      s.observe('the hook saw FROM_THE_PROCESS', readRootfs(s, 'hook-env'));
    },
  },
  {
    name: 'a createContainer hook runs in runc’s working directory',
    issue: 19,
    async run(s) {
      s.config.hooks = { createContainer: [shellHook(`pwd > ${join(s.work, 'hook-cwd')}`)] };
      await runTrue(s);
      s.observe('the hook’s working directory', s.readWork('hook-cwd').trim());
    },
  },
  {
    name: 'every poststop hook runs when an earlier one fails',
    issue: 19,
    async run(s) {
      s.config.hooks = {
        poststop: [shellHook('exit 1'), shellHook(`echo ran > ${join(s.work, 'second-poststop')}`)],
      };
      await runTrue(s);
      s.observe('the second poststop hook ran', s.readWork('second-poststop').trim());
    },
    deliberate: {
      'the second poststop hook ran': {
        value: 'ran',
        why: 'the runtime spec says the remaining poststop hooks run when one fails; runc stops at the first failure',
      },
    },
  },
  {
    name: 'prestart hooks get the state document the spec describes',
    issue: 19,
    async run(s) {
      s.config.annotations = { 'io.example/key': 'value' };
      s.config.hooks = { prestart: [shellHook(`cat > ${join(s.work, 'hook-state')}`)] };
      await runTrue(s);
      let state: Record<string, unknown> = {};
      try {
        state = JSON.parse(s.readWork('hook-state')) as Record<string, unknown>;
      } catch {
        // Recorded below as absent fields.
      }
      s.observe('state keys', Object.keys(state).sort().join(' '));
      // The runtime's own spec version, as `state` reports it (runc writes specs.Version).
      const implemented = /^spec: (\S+)/m.exec((await s.quiet(['--version'])).stdout)?.[1];
      s.observe('state ociVersion is the spec version of --version', state.ociVersion === implemented);
      for (const key of ['id', 'status', 'bundle']) s.observe(`state ${key}`, String(state[key]));
      s.observe('state pid is a pid', typeof state.pid === 'number' && state.pid > 0);
      s.observe('state annotations', JSON.stringify(state.annotations));
    },
  },
];

function readRootfs(s: Session, name: string): string {
  try {
    return readFileSync(join(s.rootfs, name), 'utf8').trim();
  } catch {
    return '<missing>';
  }
}
