import { readFileSync } from 'node:fs';

import { OCI_VERSION } from '@corral/core';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { COMMANDS, type Flag, GLOBAL_FLAGS } from '../../src/flags.js';
import { commandHelp } from '../../src/help.js';
import { main } from '../../src/index.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

/** What `corral ARGS` writes to stdout and stderr, and its exit status. */
async function corral(...args: string[]) {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const status = await main(args);
    return { status, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('corral --version', () => {
  it("prints runc's lines, then Node's and libseccomp's", async () => {
    for (const flag of ['--version', '-v']) {
      const { status, stdout } = await corral(flag);
      expect(status).toBe(0);
      expect(stdout.split('\n')).toEqual([
        `corral version ${version}`,
        // Run from source there is no build-time commit, and runc leaves the line out too.
        // The spec line is the version `state` reports, core's.
        `spec: ${OCI_VERSION}`,
        `node: ${process.version}`,
        expect.stringMatching(/^libseccomp: \d+\.\d+\.\d+$/),
        '',
      ]);
    }
  });
});

describe('corral --help', () => {
  it("has runc's sections in runc's order, every command and every global flag", async () => {
    for (const args of [['--help'], ['-h'], ['help'], ['h'], []]) {
      const { status, stdout } = await corral(...args);
      expect(status).toBe(0);
      const sections = stdout.split('\n').filter((line) => /^[A-Z][A-Z ]+:$/.test(line));
      expect(sections).toEqual(['NAME:', 'USAGE:', 'VERSION:', 'COMMANDS:', 'GLOBAL OPTIONS:']);
      expect(stdout).toContain(`   corral version ${version}\n`);
      for (const [name, command] of Object.entries(COMMANDS)) {
        expect(stdout).toMatch(new RegExp(`^   ${name} +${literal(command.summary)}$`, 'm'));
      }
      expect(stdout).toMatch(/^ {3}help, h +/m);
      for (const name of Object.keys(GLOBAL_FLAGS))
        expect(stdout).toMatch(new RegExp(`^ {3}--${name}\\b`, 'm'));
    }
  });
});

describe('corral help COMMAND and corral COMMAND --help', () => {
  it.each(Object.keys(COMMANDS))('%s: the same help, from the flags its parser reads', async (name) => {
    const viaHelp = await corral('help', name);
    const viaFlag = await corral(name, '--help');
    expect(viaHelp).toEqual({ status: 0, stdout: commandHelp(name as keyof typeof COMMANDS), stderr: '' });
    expect(viaFlag).toEqual(viaHelp);
    const help = viaHelp.stdout;
    expect(help.split('\n').filter((line) => /^[A-Z]+:$/.test(line))).toEqual([
      'NAME:',
      'USAGE:',
      'DESCRIPTION:',
      ...(Object.keys(COMMANDS[name as keyof typeof COMMANDS].flags).length ? ['OPTIONS:'] : []),
    ]);
    for (const [flag, definition] of Object.entries(
      COMMANDS[name as keyof typeof COMMANDS].flags as Record<string, Flag>,
    )) {
      const value = definition.type === 'string' ? ` ${definition.value}` : '';
      const short = definition.short ? `, -${definition.short}${value}` : '';
      expect(help).toContain(`   --${flag}${value}${short}  `);
    }
  });

  it('answers a command it lacks as runc does: status 3', async () => {
    const { status, stdout, stderr } = await corral('help', 'launch');
    expect(status).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toBe("corral: No help topic for 'launch'\n");
  });

  it('lays out a command as runc does', () => {
    expect(commandHelp('delete')).toBe(
      'NAME:\n' +
        '   corral delete - delete a stopped container and everything it holds\n\n' +
        'USAGE:\n' +
        '   corral delete [command options] <container-id>\n\n' +
        'DESCRIPTION:\n' +
        '   Removes the container: its processes, cgroups, mounts, network devices and\n' +
        '   state directory. A running container is refused unless --force is given.\n\n' +
        'OPTIONS:\n' +
        '   --force, -f  kill the container first if it runs (SIGKILL); a container that is not there is no error\n',
    );
    expect(commandHelp('start')).toMatch(/^USAGE:\n {3}corral start <container-id>\n/m);
    expect(commandHelp('features')).toMatch(/^USAGE:\n {3}corral features \[arguments\.\.\.\]\n/m);
  });
});

describe('the flag definitions', () => {
  const all = [
    ...Object.entries(GLOBAL_FLAGS).map(([name, flag]) => [`--${name}`, flag as Flag] as const),
    ...Object.entries(COMMANDS).flatMap(([command, { flags }]) =>
      Object.entries(flags as Record<string, Flag>).map(
        ([name, flag]) => [`${command} --${name}`, flag] as const,
      ),
    ),
  ];

  it.each(all)('%s has one line of help, and a value name when it takes a value', (_, flag) => {
    expect(flag.help).toMatch(/^[^\n]+$/);
    expect(flag.help).not.toMatch(/\.$/);
    if (flag.type === 'string') expect(flag.value).toMatch(/^\S+$/);
    else expect(flag.value).toBeUndefined();
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
